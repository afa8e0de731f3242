package io.vmesh.proxy.capture;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.vmesh.proxy.listener.OriginalDestination;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code capture inspect}: a diagnostic listener that stands where the proxy would. For every connection
 * it prints the peer, the local address and the original destination, then echoes what it reads, so
 * the client sees a working connection. Used by the namespace tests and by anyone checking rules by hand.
 */
@Command(name = "inspect",
    mixinStandardHelpOptions = true,
    description = "Diagnostic: listen where the proxy would, print each connection's peer, local address and "
        + "original destination (SO_ORIGINAL_DST), and echo its bytes. Runs until killed.")
public final class InspectCommand implements Callable<Integer> {

  @Option(names = "--listen", paramLabel = "IP:PORT", split = ",", description = "Addresses to listen on (default: ${DEFAULT-VALUE}).")
  List<String> listen = List.of("0.0.0.0:15001", "0.0.0.0:15006");

  @Option(names = "--transparent", description = "Set IP_TRANSPARENT, as a TPROXY listener needs (root or CAP_NET_ADMIN).")
  boolean transparent;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    try (CaptureListener listener = new CaptureListener()) {
      for (String address : listen) {
        InetSocketAddress bindTo = parse(address);
        int port = bindTo.getPort();
        listener.bind(bindTo, transparent, new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
            ch.pipeline().addLast(new Echo(out, port));
          }
        });
        out.println("inspect listening on " + address + (transparent ? " (IP_TRANSPARENT)" : ""));
        out.flush();
      }
      Thread.currentThread().join();
      return 0;
    }
  }

  /** {@code ip:port} or {@code [ipv6]:port}, literal addresses only. */
  private InetSocketAddress parse(String address) {
    int colon = address.lastIndexOf(':');
    try {
      String host = address.substring(0, colon).replace("[", "").replace("]", "");
      int port = Integer.parseInt(address.substring(colon + 1));
      Cidr.parse(host);
      return new InetSocketAddress(host, port);
    } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
      throw new ParameterException(spec.commandLine(), "--listen: '" + address + "' is not IP:PORT (IPv6 as [::]:15006)");
    }
  }

  /** Reports the connection, then writes back what it reads and closes after the client's FIN. */
  private static final class Echo extends ChannelInboundHandlerAdapter {
    private final PrintWriter out;
    private final int listenerPort;

    Echo(PrintWriter out, int listenerPort) {
      this.out = out;
      this.listenerPort = listenerPort;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      Channel ch = ctx.channel();
      String original = OriginalDestination.of(ch).map(InspectCommand::format).orElse("none");
      synchronized (out) {
        out.println("inspect accepted listener=:" + listenerPort + " peer=" + format((InetSocketAddress) ch.remoteAddress())
            + " local=" + format((InetSocketAddress) ch.localAddress()) + " original_dst=" + original);
        out.flush();
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ctx.writeAndFlush((ByteBuf) msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        ctx.writeAndFlush(ctx.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** {@code ip:port}, IPv6 in brackets. */
  static String format(InetSocketAddress a) {
    String host = a.getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + Cidr.formatIpv6(a.getAddress().getAddress()) + "]";
    }
    return host + ":" + a.getPort();
  }
}
