package io.vmesh.sandbox.apps;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** A sample app: a TCP echo server that writes back what it reads and closes after the client's FIN. */
@Command(name = "echo-server", mixinStandardHelpOptions = true, description = "Sample app: a TCP echo server.")
public final class EchoServer implements Callable<Integer> {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  /** What this app prints is its interface: the tests and the demo read it. */
  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }

  @Option(names = "--port", description = "Port to listen on (default: ${DEFAULT-VALUE}).")
  int port = 7000;

  @Option(names = "--address", description = "Address to listen on; '::' takes IPv4 and IPv6 (default: ${DEFAULT-VALUE}).")
  String address = "0.0.0.0";

  @Override
  public Integer call() throws IOException {
    try (ServerSocket server = new ServerSocket()) {
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(address, port));
      out().println("echo-server listening on " + address + ":" + port);
      out().flush();
      while (true) {
        Socket s = server.accept();
        // who reached the app directly: the namespace tests tell captured from uncaptured connections by it
        out().println("echo-server accepted peer=" + s.getRemoteSocketAddress() + " local=" + s.getLocalSocketAddress());
        out().flush();
        Thread t = new Thread(() -> echo(s), "echo-" + s.getPort());
        t.setDaemon(true);
        t.start();
      }
    }
  }

  private static void echo(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      in.transferTo(out);
      s.shutdownOutput();
    } catch (IOException e) {
      // the client went away; nothing to echo to
    }
  }
}
