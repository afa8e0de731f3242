package io.vmesh.sandbox.apps;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * A sample app: sends a message, half-closes, reads the reply to the end. Exit 0 when the reply is
 * the message, 1 otherwise.
 */
@Command(name = "echo-client", mixinStandardHelpOptions = true, description = "Sample app: a TCP echo client.")
public final class EchoClient implements Callable<Integer> {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  /** What this app prints is its interface: the tests and the demo read it. */
  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }

  @Parameters(index = "0", paramLabel = "HOST:PORT", description = "Where to connect.")
  String target;

  @Option(names = "--message", description = "What to send (default: ${DEFAULT-VALUE}).")
  String message = "hello from the app";

  @Option(names = "--timeout-ms", description = "Connect and read timeout (default: ${DEFAULT-VALUE}).")
  int timeoutMillis = 10_000;

  @Option(names = "--source", paramLabel = "IP", description = "Local address to bind before connecting, like the proxy's 127.0.0.6 passthrough.")
  String source;

  @Override
  public Integer call() throws IOException {
    int colon = target.lastIndexOf(':');
    String host = target.substring(0, colon).replace("[", "").replace("]", "");
    int port = Integer.parseInt(target.substring(colon + 1));
    try (Socket s = new Socket()) {
      if (source != null) {
        s.bind(new InetSocketAddress(source, 0));
      }
      s.connect(new InetSocketAddress(host, port), timeoutMillis);
      s.setSoTimeout(timeoutMillis);
      out().println("local " + s.getLocalSocketAddress() + " -> " + target);
      ByteArrayOutputStream reply = new ByteArrayOutputStream();
      try {
        s.getOutputStream().write(message.getBytes(StandardCharsets.UTF_8));
        s.shutdownOutput();
        s.getInputStream().transferTo(reply);
      } catch (IOException e) {
        // a reset or a refused peer is an answer too: report it, with whatever arrived before it
        out().println("error: " + e.getMessage());
      }
      String text = reply.toString(StandardCharsets.UTF_8);
      out().println("reply: " + text);
      return text.equals(message) ? 0 : 1;
    }
  }
}
