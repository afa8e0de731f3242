package io.vmesh.proxy.listener;

import io.netty.channel.Channel;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vmesh.proxy.accesslog.AccessLog;
import io.vmesh.proxy.accesslog.AccessLog.Result;
import io.vmesh.proxy.cluster.PassthroughCluster;
import io.vmesh.proxy.filter.TcpRelay;
import io.vmesh.proxy.stats.ProxyStats;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

/**
 * virtualOutbound: where iptables sends the pod's outbound TCP. It reads each connection's original
 * destination and, with no per-service listeners configured yet, passes it through to that address.
 * One instance per event loop; Vert.x spreads accepted connections over the instances.
 */
public final class VirtualOutboundListener extends VerticleBase {

  public static final String NAME = "virtualOutbound";

  private final String host;
  private final int port;
  private final ProxyStats stats;
  private final AccessLog accessLog;
  private final Clock clock;
  private PassthroughCluster passthrough;
  private NetServer server;

  public VirtualOutboundListener(String host, int port, ProxyStats stats, AccessLog accessLog, Clock clock) {
    this.host = host;
    this.port = port;
    this.stats = stats;
    this.accessLog = accessLog;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    passthrough = new PassthroughCluster(vertx);
    server = vertx.createNetServer(new NetServerOptions()
            .setHost(host)
            .setPort(port)
            .setTcpNoDelay(true)
            .setReuseAddress(true))
        .connectHandler(this::accept);
    return server.listen();
  }

  @Override
  public Future<?> stop() {
    return server.close().eventually(() -> passthrough.close());
  }

  private void accept(NetSocket socket) {
    NetSocketInternal downstream = (NetSocketInternal) socket;
    stats.outboundAccepted.increment();
    Instant start = clock.instant();
    long startNanos = System.nanoTime();
    Channel channel = downstream.channelHandlerContext().channel();
    InetSocketAddress peer = (InetSocketAddress) channel.remoteAddress();
    InetSocketAddress local = (InetSocketAddress) channel.localAddress();
    Optional<InetSocketAddress> found = OriginalDestination.of(channel);
    if (found.isEmpty() || isOwnListener(found.get(), local)) {
      // not redirected by iptables: forwarding it would dial this very listener again, forever
      stats.outboundLoopRefused.increment();
      downstream.close();
      accessLog.log(new AccessLog.Entry(start, NAME, peer, found.orElse(null), null, 0, 0,
          elapsedMillis(startNanos), found.isEmpty() ? Result.NO_ORIGINAL_DST : Result.LOOP_REFUSED));
      return;
    }
    InetSocketAddress originalDst = found.get();
    stats.outboundActive.incrementAndGet();
    TcpRelay relay = new TcpRelay(downstream, stats.passthroughBytesSent::increment, stats.passthroughBytesReceived::increment);
    passthrough.connect(originalDst).onComplete(ar -> {
      if (ar.failed()) {
        stats.passthroughConnectFailures.increment();
        stats.outboundActive.decrementAndGet();
        relay.abort();
        accessLog.log(new AccessLog.Entry(start, NAME, peer, originalDst, PassthroughCluster.NAME, 0, 0,
            elapsedMillis(startNanos), Result.UPSTREAM_CONNECT_FAILED));
        return;
      }
      stats.passthroughConnections.increment();
      relay.connect(ar.result()).onComplete(v -> {
        stats.outboundActive.decrementAndGet();
        accessLog.log(new AccessLog.Entry(start, NAME, peer, originalDst, PassthroughCluster.NAME,
            relay.bytesReceived(), relay.bytesSent(), elapsedMillis(startNanos), Result.OK));
      });
    });
  }

  /** True when the original destination is this listener itself: the connection was never redirected. */
  private boolean isOwnListener(InetSocketAddress originalDst, InetSocketAddress local) {
    if (originalDst.equals(local)) {
      return true;
    }
    if (originalDst.getPort() != port) {
      return false;
    }
    InetAddress address = originalDst.getAddress();
    try {
      return address.isAnyLocalAddress() || address.isLoopbackAddress() || NetworkInterface.getByInetAddress(address) != null;
    } catch (SocketException e) {
      return true;
    }
  }

  private static long elapsedMillis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
