package io.vmesh.proxy.listener;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Future;
import io.vertx.core.Promise;
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
import io.vmesh.proxy.filter.TcpProxyRoute;
import io.vmesh.proxy.filter.TcpRelay;
import io.vmesh.proxy.http.HttpConnectionManager;
import io.vmesh.proxy.http.UpstreamHttpClients;
import io.vmesh.proxy.stats.ProxyStats;
import io.vmesh.proxy.stats.ProxyStats.ClusterStats;
import io.vmesh.proxy.stats.ProxyStats.ListenerStats;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Binds every listener of the configuration that binds a port, on one event loop (one instance per
 * loop; Vert.x spreads accepted connections over them), and serves each accepted connection: original
 * destination, hand-off ({@code use_original_dst}), listener filters, filter chain, cluster, relay. The configuration is
 * read once per connection, so a new one applies to new connections only. A new configuration's
 * listener set is applied by {@link #bind} (before it is swapped in) and {@link #unbindRemoved} (after).
 */
public final class ListenerServer extends VerticleBase {

  /** How long a listener removed by an update lets its connections finish before closing them (Envoy's drain time). */
  public static final Duration REMOVED_LISTENER_DRAIN = Duration.ofMinutes(10);

  private final Supplier<RuntimeConfig> configs;
  private final ProxyStats stats;
  private final AccessLog accessLog;
  private final Clock clock;
  // by listener name and address (a listener whose address changes is a new one); only touched on this verticle's event loop
  private final Map<String, NetServer> servers = new LinkedHashMap<>();
  private final Set<String> draining = new HashSet<>();
  private UpstreamConnector upstreams;
  private UpstreamHttpClients httpUpstreams;

  public ListenerServer(Supplier<RuntimeConfig> configs, ProxyStats stats, AccessLog accessLog, Clock clock) {
    this.configs = configs;
    this.stats = stats;
    this.accessLog = accessLog;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    upstreams = new UpstreamConnector(vertx);
    httpUpstreams = new UpstreamHttpClients(vertx);
    return bindNew(configs.get());
  }

  /**
   * Binds the listeners of {@code next} that are not bound yet, on this instance's event loop; fails,
   * naming the listener, when one cannot bind (the caller then unbinds what this added).
   */
  public Future<Void> bind(RuntimeConfig next) {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> bindNew(next).onComplete(done));
    return done.future();
  }

  /**
   * Stops accepting on the listeners that {@code current} no longer binds; connections they accepted
   * go on until they end (or the drain deadline).
   */
  public Future<Void> unbindRemoved(RuntimeConfig current) {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      Set<String> keep = new HashSet<>();
      current.boundListeners().forEach(l -> keep.add(key(l)));
      List<Future<Void>> stopping = new ArrayList<>();
      for (var it = servers.entrySet().iterator(); it.hasNext(); ) {
        var e = it.next();
        if (!keep.contains(e.getKey())) {
          it.remove();
          // one already draining (SIGTERM, /drain_listeners) keeps its own deadline
          if (!draining.remove(e.getKey())) {
            stopping.add(e.getValue().shutdown(REMOVED_LISTENER_DRAIN.toMillis(), TimeUnit.MILLISECONDS));
          }
        }
      }
      Future.all(stopping).<Void>mapEmpty().onComplete(done);
    });
    return done.future();
  }

  private Future<Void> bindNew(RuntimeConfig next) {
    List<Future<NetServer>> listening = new ArrayList<>();
    for (ListenerConfig listener : next.boundListeners()) {
      String key = key(listener);
      if (servers.containsKey(key)) {
        continue;
      }
      String name = listener.name();
      NetServer server = vertx.createNetServer(new NetServerOptions()
              .setHost(listener.address().getAddress().getHostAddress())
              .setPort(listener.address().getPort())
              .setTcpNoDelay(true)
              .setReuseAddress(true))
          .connectHandler(socket -> accept(name, socket, next));
      servers.put(key, server);
      listening.add(server.listen().recover(e -> {
        servers.remove(key);
        // named like the resource's field, since over xDS this message is the NACK's
        return Future.failedFuture(new IllegalStateException("listeners[" + name + "].address: cannot bind "
            + listener.address().getAddress().getHostAddress() + ":" + listener.address().getPort() + ": " + e.getMessage(), e));
      }));
    }
    return Future.all(listening).mapEmpty();
  }

  private static final String KEY_SEPARATOR = "@";

  private static String key(ListenerConfig l) {
    return l.name() + KEY_SEPARATOR + l.address();
  }

  private static String nameOf(String key) {
    return key.substring(0, key.lastIndexOf(KEY_SEPARATOR));
  }

  @Override
  public Future<?> stop() {
    List<Future<Void>> closing = new ArrayList<>();
    // a draining server's close would wait out its drain; closing the upstream clients and the event loop ends its connections
    servers.forEach((key, s) -> {
      if (!draining.contains(key)) {
        closing.add(s.close());
      }
    });
    return Future.all(closing).eventually(() -> Future.all(upstreams.close(), httpUpstreams.close()));
  }

  /**
   * Stops accepting on the listeners {@code which} selects; the connections they accepted go on, and
   * those still open after {@code deadlineMillis} are closed. The future completes when all of them are
   * closed, at the latest at the deadline. Safe from any thread.
   */
  public Future<Void> drain(Predicate<String> which, long deadlineMillis) {
    Promise<Void> drained = Promise.promise();
    context.runOnContext(v -> {
      List<Future<Void>> shutdowns = new ArrayList<>();
      servers.forEach((key, server) -> {
        if (which.test(nameOf(key)) && draining.add(key)) {
          // Vert.x's graceful shutdown: unbind now, close what is left at the deadline
          shutdowns.add(server.shutdown(deadlineMillis, TimeUnit.MILLISECONDS));
        }
      });
      Future.all(shutdowns).<Void>mapEmpty().onComplete(drained);
    });
    return drained.future();
  }

  private void accept(String listenerName, NetSocket socket, RuntimeConfig boundFor) {
    NetSocketInternal downstream = (NetSocketInternal) socket;
    Instant start = clock.instant();
    long startNanos = System.nanoTime();
    RuntimeConfig config = configs.get();
    ListenerConfig accepting = config.listeners().get(listenerName);
    if (accepting == null) {
      // accepted just before its listener was unbound: served by the configuration it was bound for
      config = boundFor;
      accepting = config.listeners().get(listenerName);
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
        accessLog.log(new AccessLog.Entry(start, accepting.name(), peer, null, null, 0, 0, elapsedMillis(startNanos),
            Result.NO_ORIGINAL_DST));
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
    Accepted c = new Accepted(downstream, config, handling, acceptingStats, handlingStats, peer, destination, start, startNanos);
    if (handling.inspects(destination)) {
      new Sniff(c).start();
    } else {
      route(c, FilterChainMatcher.Connection.tcp(destination, peer), null, false);
    }
  }

  /** Chain, cluster, upstream address, then the relay; {@code alreadyRead} is owned from here on. */
  private void route(Accepted c, FilterChainMatcher.Connection connection, ByteBuf alreadyRead, boolean finAlreadyRead) {
    c.serverName = connection.serverName().isEmpty() ? null : connection.serverName();
    Optional<FilterChainConfig> chain = c.handling.chainFor(connection);
    if (chain.isEmpty()) {
      c.handlingStats.noFilterChainMatch.increment();
      c.refuse(alreadyRead, null, Result.NO_FILTER_CHAIN);
      return;
    }
    c.chain = chain.get().name().isEmpty() ? null : chain.get().name();
    if (chain.get().http() != null) {
      Runnable finished = active(c);
      ProxyStats.HttpStats httpStats = stats.http(chain.get().http().statPrefix());
      httpStats.connections.increment();
      AccessLog scoped = accessLog.scoped(new AccessLog.Scope(c.chain, c.serverName, e -> {
        httpStats.request(e.http() == null ? 0 : e.http().status(), e.durationMillis());
        if (e.cluster() != null) {
          stats.cluster(e.cluster()).requestTime.record(e.durationMillis());
        }
      }));
      HttpConnectionManager.Downstream d = new HttpConnectionManager.Downstream(c.handling.name(), c.peer, c.destination, c.config);
      new HttpConnectionManager(vertx, c.downstream, chain.get().http(), d, httpUpstreams, stats, scoped, clock)
          .start(alreadyRead, finAlreadyRead).onComplete(v -> {
            finished.run();
            c.handlingStats.connectionLength.record(elapsedMillis(c.startNanos));
          });
      return;
    }
    TcpProxyRoute tcp = chain.get().tcpProxy();
    String clusterName = tcp.pickCluster();
    ClusterConfig cluster = c.config.clusters().get(clusterName);
    ClusterStats clusterStats = stats.cluster(clusterName);
    clusterStats.ejectedNow(cluster.balancer()::ejectedCount);
    InetSocketAddress upstream;
    if (cluster.type() == ClusterConfig.Type.ORIGINAL_DST) {
      if (c.config.isOwnListener(c.destination)) {
        // not redirected by iptables: dialling it would reach this proxy again, forever
        c.acceptingStats.loopRefused.increment();
        c.refuse(alreadyRead, null, Result.LOOP_REFUSED);
        return;
      }
      upstream = c.destination;
    } else {
      Optional<InetSocketAddress> endpoint = cluster.nextEndpoint();
      if (endpoint.isEmpty()) {
        clusterStats.noneHealthy.increment();
        c.refuse(alreadyRead, clusterName, Result.NO_HEALTHY_UPSTREAM);
        return;
      }
      upstream = endpoint.get();
    }
    serve(c, tcp, upstream, cluster, clusterStats, alreadyRead, finAlreadyRead);
  }

  private void serve(Accepted c, TcpProxyRoute tcp, InetSocketAddress upstream, ClusterConfig cluster,
                     ClusterStats clusterStats, ByteBuf alreadyRead, boolean finAlreadyRead) {
    Runnable finished = active(c);
    ProxyStats.TcpStats tcpStats = stats.tcp(tcp.statPrefix());
    tcpStats.connections.increment();
    tcpStats.active.incrementAndGet();
    TcpRelay relay = new TcpRelay(c.downstream,
        n -> {
          clusterStats.bytesSent.increment(n);
          tcpStats.bytesReceived.increment(n);
        },
        n -> {
          clusterStats.bytesReceived.increment(n);
          tcpStats.bytesSent.increment(n);
        },
        alreadyRead, finAlreadyRead).idleTimeout(tcp.idleTimeoutMillis());
    c.upstreamHost = upstream;
    cluster.connectionStarted(upstream);
    upstreams.connect(cluster, upstream).onComplete(ar -> {
      if (ar.failed()) {
        clusterStats.connectFailures.increment();
        if (cluster.connectFailed(upstream)) {
          clusterStats.ejections.increment();
        }
        tcpStats.active.decrementAndGet();
        finished.run();
        relay.abort();
        c.failureReason = ar.cause().getMessage();
        c.log(cluster.name(), 0, 0, Result.UPSTREAM_CONNECT_FAILED);
        return;
      }
      clusterStats.connections.increment();
      cluster.connected(upstream);
      c.upstreamLocal = (InetSocketAddress) ar.result().channelHandlerContext().channel().localAddress();
      relay.connect(ar.result()).onComplete(v -> {
        cluster.connectionEnded(upstream);
        tcpStats.active.decrementAndGet();
        finished.run();
        if (relay.idleTimedOut()) {
          tcpStats.idleTimeouts.increment();
        }
        c.log(cluster.name(), relay.bytesReceived(), relay.bytesSent(), relay.idleTimedOut() ? Result.IDLE_TIMEOUT : Result.OK);
      });
    });
  }

  /** Counts the connection as active on its listeners; the result uncounts it. */
  private static Runnable active(Accepted c) {
    c.acceptingStats.active.incrementAndGet();
    if (c.handlingStats != c.acceptingStats) {
      c.handlingStats.active.incrementAndGet();
    }
    return () -> {
      c.acceptingStats.active.decrementAndGet();
      if (c.handlingStats != c.acceptingStats) {
        c.handlingStats.active.decrementAndGet();
      }
    };
  }

  /** One accepted connection, until its chain is chosen, and what its access log line will say. */
  private final class Accepted {
    final NetSocketInternal downstream;
    final RuntimeConfig config;
    final ListenerConfig handling;
    final ListenerStats acceptingStats;
    final ListenerStats handlingStats;
    final InetSocketAddress peer;
    final InetSocketAddress destination;
    final Instant start;
    final long startNanos;
    String chain;
    String serverName;
    InetSocketAddress upstreamHost;
    InetSocketAddress upstreamLocal;
    String failureReason;

    Accepted(NetSocketInternal downstream, RuntimeConfig config, ListenerConfig handling, ListenerStats acceptingStats,
             ListenerStats handlingStats, InetSocketAddress peer, InetSocketAddress destination, Instant start, long startNanos) {
      this.downstream = downstream;
      this.config = config;
      this.handling = handling;
      this.acceptingStats = acceptingStats;
      this.handlingStats = handlingStats;
      this.peer = peer;
      this.destination = destination;
      this.start = start;
      this.startNanos = startNanos;
    }

    void refuse(ByteBuf alreadyRead, String cluster, Result result) {
      if (alreadyRead != null) {
        alreadyRead.release();
      }
      downstream.close();
      log(cluster, 0, 0, result);
    }

    void log(String cluster, long received, long sent, Result result) {
      long millis = elapsedMillis(startNanos);
      handlingStats.connectionLength.record(millis);
      accessLog.log(new AccessLog.Entry(start, handling.name(), chain, peer, destination, cluster, upstreamHost, upstreamLocal,
          serverName, received, sent, millis, result, failureReason, null));
    }
  }

  /**
   * The listener filters (tls_inspector, http_inspector): gathers the connection's first bytes until
   * they tell the protocol, the client shuts down its side, or listener_filters_timeout; then the bytes
   * go on to the chosen upstream untouched.
   */
  private final class Sniff {
    private final Accepted c;
    private final ListenerConfig.Sniffing sniffing;
    private final CompositeByteBuf read;
    private long timer = -1;
    private boolean done;

    Sniff(Accepted c) {
      this.c = c;
      this.sniffing = c.handling.sniffing();
      this.read = c.downstream.channelHandlerContext().alloc().compositeBuffer(Integer.MAX_VALUE);
    }

    void start() {
      // a FIN while sniffing must arrive as an event, to be forwarded after the bytes before it
      c.downstream.channelHandlerContext().channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
      c.downstream.messageHandler(msg -> {
        if (done || !(msg instanceof ByteBuf buf)) {
          ReferenceCountUtil.release(msg);
          return;
        }
        read.addComponent(true, buf);
        finish(false, false);
      });
      c.downstream.eventHandler(event -> {
        if (event instanceof ChannelInputShutdownEvent && !done) {
          finish(true, true);
        } else {
          ReferenceCountUtil.release(event);
        }
      });
      c.downstream.closeHandler(v -> {
        if (!done) {
          done = true;
          cancelTimer();
          read.release();
        }
      });
      if (sniffing.timeoutMillis() > 0) {
        timer = vertx.setTimer(sniffing.timeoutMillis(), id -> onTimeout());
      }
    }

    private void onTimeout() {
      timer = -1;
      if (done) {
        return;
      }
      c.handlingStats.listenerFilterTimeout.increment();
      if (sniffing.continueOnTimeout()) {
        finish(true, false);
      } else {
        done = true;
        c.refuse(read, null, Result.LISTENER_FILTER_TIMEOUT);
      }
    }

    /**
     * Decides once the inspectors have seen enough.
     *
     * @param last whether what was read is all there will be to decide on (FIN or timeout)
     * @param fin whether the client has shut down its side
     */
    private void finish(boolean last, boolean fin) {
      Sniffed tls = sniffing.tls() ? TlsInspector.inspect(read) : Sniffed.NOT_FOUND;
      if (tls.status() == Sniffed.Status.NEED_MORE && !last) {
        return;
      }
      Sniffed found = tls.status() == Sniffed.Status.FOUND ? tls : Sniffed.NOT_FOUND;
      if (found == Sniffed.NOT_FOUND && sniffing.http()) {
        Sniffed http = HttpInspector.inspect(read);
        if (http.status() == Sniffed.Status.NEED_MORE && !last) {
          return;
        }
        found = http.status() == Sniffed.Status.FOUND ? http : Sniffed.NOT_FOUND;
      }
      done = true;
      cancelTimer();
      String transport = found.transportProtocol().isEmpty() ? "raw_buffer" : found.transportProtocol();
      route(c, new FilterChainMatcher.Connection(c.destination, c.peer, c.peer, found.serverName(), transport,
          found.applicationProtocols()), read, fin);
    }

    private void cancelTimer() {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
    }
  }

  private static long elapsedMillis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
