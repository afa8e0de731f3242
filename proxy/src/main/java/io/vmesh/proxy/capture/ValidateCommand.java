package io.vmesh.proxy.capture;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelHandler;
import io.vmesh.proxy.listener.OriginalDestination;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code capture validate}: proves the rules another component wrote actually capture. Run as the
 * proxy's uid, it listens on the two capture ports of 127.0.0.1, dials a sentinel address nothing
 * listens on, and succeeds only if that connection arrives on a capture port with the sentinel as its
 * original destination (Istio's {@code --run-validation}).
 */
@Command(name = "validate",
    mixinStandardHelpOptions = true,
    description = "Check that capture rules are in place: exit 0 if a connection to a sentinel address is "
        + "redirected to the proxy's ports, 126 otherwise. Run it as the proxy uid.")
public final class ValidateCommand implements Callable<Integer> {

  /** Istio's exit code for a failed validation, so tooling that knows it reads ours the same. */
  public static final int FAILED = 126;
  static final String SENTINEL_HOST = "127.0.0.6";
  static final int SENTINEL_PORT = 15002;

  @Option(names = "--inbound-port", paramLabel = "PORT", description = "virtualInbound port (default: ${DEFAULT-VALUE}).")
  int inboundPort = CaptureConfig.DEFAULT_INBOUND_PORT;

  @Option(names = "--outbound-port", paramLabel = "PORT", description = "virtualOutbound port (default: ${DEFAULT-VALUE}).")
  int outboundPort = CaptureConfig.DEFAULT_OUTBOUND_PORT;

  @Option(names = "--timeout-ms", paramLabel = "MS", description = "Give up after this long (default: ${DEFAULT-VALUE}).")
  int timeoutMillis = 5000;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    CompletableFuture<InetSocketAddress> arrived = new CompletableFuture<>();
    try (CaptureListener listener = new CaptureListener()) {
      ChannelHandler handler = new ChannelInboundHandlerAdapter() {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
          Channel ch = ctx.channel();
          Optional<InetSocketAddress> dst = OriginalDestination.of(ch);
          dst.ifPresent(arrived::complete);
          ch.close();
        }
      };
      try {
        listener.bind(new InetSocketAddress("127.0.0.1", outboundPort), false, handler);
        listener.bind(new InetSocketAddress("127.0.0.1", inboundPort), false, handler);
      } catch (Exception e) {
        err.println("vmesh capture validate: FAILED: cannot listen on 127.0.0.1:" + outboundPort + " and :" + inboundPort + ": " + e);
        err.flush();
        return FAILED;
      }
      String dialFailure = dial(deadline);
      if (dialFailure != null && !arrived.isDone()) {
        // a refused or failed dial was never redirected: nothing can arrive any more
        return failed(err, dialFailure);
      }
      try {
        long left = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        InetSocketAddress dst = arrived.get(left, TimeUnit.MILLISECONDS);
        if (dst.getPort() == SENTINEL_PORT && dst.getAddress().getHostAddress().equals(SENTINEL_HOST)) {
          out.println("vmesh capture validate: OK, a connection to " + SENTINEL_HOST + ":" + SENTINEL_PORT
              + " reached the proxy's port with its original destination intact");
          out.flush();
          return 0;
        }
        return failed(err, "a connection arrived but its original destination was " + dst + ", not " + SENTINEL_HOST + ":" + SENTINEL_PORT);
      } catch (TimeoutException | ExecutionException e) {
        return failed(err, "no redirected connection arrived within " + timeoutMillis + " ms");
      }
    }
  }

  private static int failed(PrintWriter err, String why) {
    err.println("vmesh capture validate: FAILED: " + why + ". The capture rules are missing, or this process's uid is not a proxy uid.");
    err.flush();
    return FAILED;
  }

  /** Dials the sentinel; null when it connected, else why not (a refusal means nothing redirected it). */
  private static String dial(long deadline) {
    int connectTimeout = (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(SENTINEL_HOST, SENTINEL_PORT), connectTimeout);
      return null;
    } catch (IOException e) {
      return "the dial to " + SENTINEL_HOST + ":" + SENTINEL_PORT + " failed: " + e.getMessage();
    }
  }
}
