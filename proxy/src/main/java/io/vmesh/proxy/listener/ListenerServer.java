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
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.cluster.UpstreamConnector;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.filter.TcpRelay;
import io.vmesh.proxy.stats.ProxyStats;
import io.vmesh.proxy.stats.ProxyStats.ClusterStats;
import io.vmesh.proxy.stats.ProxyStats.ListenerStats;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Binds every listener of the configuration that binds a port, on one event loop (one instance per
 * loop; Vert.x spreads accepted connections over them), and serves each accepted connection: original
 * destination, hand-off ({@code use_original_dst}), filter chain, cluster, relay. The configuration is
 * read once per connection, so a new one applies to new connections only.
 */
public final class ListenerServer extends VerticleBase {

  private final Supplier<RuntimeConfig> configs;
  private final ProxyStats stats;
  private final AccessLog accessLog;
  private final Clock clock;
  private final List<NetServer> servers = new ArrayList<>();
  private UpstreamConnector upstreams;

  public ListenerServer(Supplier<RuntimeConfig> configs, ProxyStats stats, AccessLog accessLog, Clock clock) {
    this.configs = configs;
    this.stats = stats;
    this.accessLog = accessLog;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    upstreams = new UpstreamConnector(vertx);
    List<Future<NetServer>> listening = new ArrayList<>();
    for (ListenerConfig listener : configs.get().boundListeners()) {
      String name = listener.name();
      NetServer server = vertx.createNetServer(new NetServerOptions()
              .setHost(listener.address().getAddress().getHostAddress())
              .setPort(listener.address().getPort())
              .setTcpNoDelay(true)
              .setReuseAddress(true))
          .connectHandler(socket -> accept(name, socket));
      servers.add(server);
      listening.add(server.listen());
    }
    return Future.all(listening);
  }

  @Override
  public Future<?> stop() {
    List<Future<Void>> closing = new ArrayList<>();
    servers.forEach(s -> closing.add(s.close()));
    return Future.all(closing).eventually(() -> upstreams.close());
  }

  private void accept(String listenerName, NetSocket socket) {
    NetSocketInternal downstream = (NetSocketInternal) socket;
    Instant start = clock.instant();
    long startNanos = System.nanoTime();
    RuntimeConfig config = configs.get();
    ListenerConfig accepting = config.listeners().get(listenerName);
    if (accepting == null) {
      // the listener left the configuration while this connection was being accepted
      downstream.close();
      return;
    }
    ListenerStats acceptingStats = stats.listener(accepting.name());
    acceptingStats.accepted.increment();
    Channel channel = downstream.channelHandlerContext().channel();
    InetSocketAddress peer = (InetSocketAddress) channel.remoteAddress();
    InetSocketAddress destination = (InetSocketAddress) channel.localAddress();
    if (accepting.readsOriginalDst()) {
      Optional<InetSocketAddress> found = OriginalDestination.of(channel);
      if (found.isPresent()) {
        destination = found.get();
      } else if (accepting.useOriginalDst()) {
        // nothing to hand off or dial: not a redirected connection
        acceptingStats.loopRefused.increment();
        downstream.close();
        log(start, accepting, peer, null, null, startNanos, Result.NO_ORIGINAL_DST);
        return;
      }
    }
    ListenerConfig handling = accepting;
    if (accepting.useOriginalDst()) {
      handling = config.handoff(destination).orElse(accepting);
    }
    ListenerStats handlingStats = stats.listener(handling.name());
    if (handling != accepting) {
      handlingStats.accepted.increment();
    }
    Optional<FilterChainConfig> chain = handling.chainFor(FilterChainMatcher.Connection.tcp(destination, peer));
    if (chain.isEmpty()) {
      handlingStats.noFilterChainMatch.increment();
      downstream.close();
      log(start, handling, peer, destination, null, startNanos, Result.NO_FILTER_CHAIN);
      return;
    }
    String clusterName = chain.get().tcpProxy().pickCluster();
    ClusterConfig cluster = config.clusters().get(clusterName);
    ClusterStats clusterStats = stats.cluster(clusterName);
    InetSocketAddress upstream;
    if (cluster.type() == ClusterConfig.Type.ORIGINAL_DST) {
      if (config.isOwnListener(destination)) {
        // not redirected by iptables: dialling it would reach this proxy again, forever
        acceptingStats.loopRefused.increment();
        downstream.close();
        log(start, handling, peer, destination, null, startNanos, Result.LOOP_REFUSED);
        return;
      }
      upstream = destination;
    } else {
      Optional<InetSocketAddress> endpoint = cluster.nextEndpoint();
      if (endpoint.isEmpty()) {
        clusterStats.noneHealthy.increment();
        downstream.close();
        log(start, handling, peer, destination, clusterName, startNanos, Result.NO_HEALTHY_UPSTREAM);
        return;
      }
      upstream = endpoint.get();
    }
    serve(downstream, upstream, cluster, clusterStats, acceptingStats, handlingStats, handling, peer, destination, start, startNanos);
  }

  private void serve(NetSocketInternal downstream, InetSocketAddress upstream, ClusterConfig cluster, ClusterStats clusterStats,
                     ListenerStats acceptingStats, ListenerStats handlingStats, ListenerConfig handling,
                     InetSocketAddress peer, InetSocketAddress destination, Instant start, long startNanos) {
    acceptingStats.active.incrementAndGet();
    if (handlingStats != acceptingStats) {
      handlingStats.active.incrementAndGet();
    }
    Runnable finished = () -> {
      acceptingStats.active.decrementAndGet();
      if (handlingStats != acceptingStats) {
        handlingStats.active.decrementAndGet();
      }
    };
    TcpRelay relay = new TcpRelay(downstream, clusterStats.bytesSent::increment, clusterStats.bytesReceived::increment);
    upstreams.connect(cluster, upstream).onComplete(ar -> {
      if (ar.failed()) {
        clusterStats.connectFailures.increment();
        finished.run();
        relay.abort();
        log(start, handling, peer, destination, cluster.name(), startNanos, Result.UPSTREAM_CONNECT_FAILED);
        return;
      }
      clusterStats.connections.increment();
      relay.connect(ar.result()).onComplete(v -> {
        finished.run();
        accessLog.log(new AccessLog.Entry(start, handling.name(), peer, destination, cluster.name(),
            relay.bytesReceived(), relay.bytesSent(), elapsedMillis(startNanos), Result.OK));
      });
    });
  }

  private void log(Instant start, ListenerConfig listener, InetSocketAddress peer, InetSocketAddress destination,
                   String cluster, long startNanos, Result result) {
    accessLog.log(new AccessLog.Entry(start, listener.name(), peer, destination, cluster, 0, 0, elapsedMillis(startNanos), result));
  }

  private static long elapsedMillis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
