package io.vmesh.proxy;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vmesh.proxy.accesslog.AccessLog;
import io.vmesh.proxy.accesslog.AccessLogSink;
import io.vmesh.proxy.admin.AdminServer;
import io.vmesh.proxy.admin.HealthServer;
import io.vmesh.proxy.admin.PrometheusServer;
import io.vmesh.proxy.admin.ServerState;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import io.vmesh.proxy.config.AdsConfig;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.listener.ListenerServer;
import io.vmesh.proxy.stats.ProxyStats;
import io.vmesh.proxy.xds.XdsClient;
import io.vmesh.proxy.config.XdsResources;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The running proxy: a Vert.x instance on native epoll, its listeners, admin and health servers. */
public final class ProxyServer {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);

  /**
   * @param healthPort 0 for no health server
   * @param prometheusPort 0 for no Prometheus endpoint
   * @param drainMillis how long connections in flight may go on after SIGTERM or {@code /drain_listeners}
   * @param xdsTokenFile the token the xDS client sends as {@code authorization: Bearer}, read at each connect
   */
  public record Settings(int concurrency, String healthAddress, int healthPort, String prometheusAddress, int prometheusPort,
                         long drainMillis, Path xdsTokenFile) {
    /** Envoy's default {@code --drain-time-s} is 600 s; a sidecar's pod has 30 s to terminate, so 5 s here. */
    public static final long DEFAULT_DRAIN_MILLIS = 5_000;

    public Settings {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
      }
      if (drainMillis < 0) {
        throw new IllegalArgumentException("drain time must not be negative, got " + drainMillis);
      }
    }

    /** The default xDS token file. */
    public Settings(int concurrency, String healthAddress, int healthPort, String prometheusAddress, int prometheusPort,
                    long drainMillis) {
      this(concurrency, healthAddress, healthPort, prometheusAddress, prometheusPort, drainMillis, AdsConfig.DEFAULT_TOKEN_FILE);
    }

    /** No Prometheus endpoint, the default drain time. */
    public Settings(int concurrency, String healthAddress, int healthPort) {
      this(concurrency, healthAddress, healthPort, "0.0.0.0", 0, DEFAULT_DRAIN_MILLIS);
    }
  }

  private final Settings settings;
  private final ProxyStats stats;
  // read once per accepted connection; a new configuration replaces it whole
  private final AtomicReference<RuntimeConfig> config;
  private final AtomicReference<ServerState> state = new AtomicReference<>(ServerState.PRE_INITIALIZING);
  // every ListenerServer instance, one per event loop, for draining
  private final List<ListenerServer> listenerServers = new CopyOnWriteArrayList<>();
  // with ADS: set once the first complete configuration runs, and never unset (a later warming cluster
  // or listener does not take the pod out of its Service)
  private final AtomicBoolean configured = new AtomicBoolean();
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private Vertx vertx;
  private XdsClient xds;

  public ProxyServer(Settings settings, RuntimeConfig initial) {
    this(settings, initial, new ProxyStats());
  }

  /** With stats made beforehand (the Prometheus registry, made while the bootstrap is read: see {@code RunCommand}). */
  public ProxyServer(Settings settings, RuntimeConfig initial, ProxyStats stats) {
    this.settings = settings;
    this.stats = stats;
    this.config = new AtomicReference<>(initial);
    initial.listeners().keySet().forEach(stats::listener);
    initial.clusters().keySet().forEach(stats::cluster);
    stats.serverGauge("server.state", () -> serverState().gauge());
  }

  /** The Vert.x instance the proxy runs on: {@code concurrency} event loops on native epoll (if it can load). */
  public static Vertx newVertx(int concurrency) {
    return Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(concurrency));
  }

  /** Starts everything or fails; in particular it refuses to run on anything but native epoll. */
  public void start() throws Exception {
    start(newVertx(settings.concurrency()));
  }

  /** Starts everything on this Vert.x instance (from {@link #newVertx}, closed by {@link #stop}) or fails and closes it. */
  public void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    if (!vertx.isNativeTransportEnabled()) {
      Throwable cause = vertx.unavailableNativeTransportCause();
      vertx.close();
      throw new IllegalStateException("the native epoll transport is not available; vmesh-proxy needs it for "
          + "SO_ORIGINAL_DST (cause: " + cause + ")", cause);
    }
    AccessLog accessLog = new AccessLog();
    Clock clock = Clock.systemUTC();
    RuntimeConfig initial = config.get();
    try {
      // listeners, admin, health and Prometheus are independent: deployed at once, each on its own event loop
      // (their class loading and binds overlap); health answers 503 until the state is LIVE, below
      List<Future<?>> servers = new ArrayList<>();
      servers.add(vertx.deployVerticle(() -> {
        ListenerServer l = new ListenerServer(config::get, stats, accessLog, clock);
        listenerServers.add(l);
        return l;
      }, new DeploymentOptions().setInstances(settings.concurrency())));
      if (initial.admin().isPresent()) {
        servers.add(vertx.deployVerticle(
            new AdminServer(initial.admin().get(), stats, this::serverState, config::get, this::quit, this::drainListeners)));
      }
      if (settings.healthPort() != 0) {
        servers.add(vertx.deployVerticle(new HealthServer(settings.healthAddress(), settings.healthPort(), this::serverState)));
      }
      if (settings.prometheusPort() != 0) {
        servers.add(vertx.deployVerticle(new PrometheusServer(settings.prometheusAddress(), settings.prometheusPort(), stats)));
      }
      // Future.join, not all: every deployment has ended (none left half-started behind a failure) when it completes
      Future<?> started = Future.join(servers);
      if (initial.ads().isPresent()) {
        xds = new XdsClient(initial.ads().get(), initial.bootstrap(), settings.xdsTokenFile(), this::config, this::apply, clock);
        started = started.compose(id -> vertx.deployVerticle(xds));
      }
      started.await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("the proxy could not start: " + e.getMessage(), e);
    }
    state.compareAndSet(ServerState.PRE_INITIALIZING, ServerState.LIVE);
    String listeners = initial.boundListeners().stream()
        .map(l -> l.name() + " on " + l.address().getAddress().getHostAddress() + ":" + l.address().getPort())
        .collect(Collectors.joining(", "));
    long handoff = initial.listeners().values().stream().filter(l -> !l.bindToPort()).count();
    LOG.info("vmesh-proxy ready: {} (+{} hand-off listeners, {} clusters), admin on {}, health on {}, prometheus on {}, {} event loops (epoll)",
        listeners, handoff, initial.clusters().size(), initial.admin().map(a -> a.getAddress().getHostAddress() + ":" + a.getPort()).orElse("none"),
        settings.healthPort() == 0 ? "none" : settings.healthAddress() + ":" + settings.healthPort(),
        settings.prometheusPort() == 0 ? "none" : settings.prometheusAddress() + ":" + settings.prometheusPort(), settings.concurrency());
  }

  public void awaitStop() throws InterruptedException {
    stopped.await();
  }

  /**
   * SIGTERM: health fails, every listener stops accepting, connections in flight get the drain time to
   * finish, then everything stops (what is still open is closed). Blocks until stopped.
   */
  public void drainAndStop() {
    if (stopping.get() || vertx == null) {
      stop();
      return;
    }
    long deadline = settings.drainMillis();
    LOG.info("draining: listeners stop accepting; connections in flight have {} ms to finish", deadline);
    try {
      // the drain closes what is left at its deadline; the margin covers the closing itself
      drainListeners(false).await(deadline + 5_000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warn("drain did not finish cleanly: {}", e.toString());
    }
    stop();
  }

  /**
   * POST /drain_listeners: stop accepting on every bound listener, or on the inbound ones only
   * ({@code traffic_direction: INBOUND}); the proxy keeps running and reports DRAINING. The future
   * completes when their connections have all closed, at the latest after the drain time.
   */
  public Future<Void> drainListeners(boolean inboundOnly) {
    state.set(ServerState.DRAINING);
    Set<String> inbound = Stream.concat(config.get().bootstrap().getStaticResources().getListenersList().stream(),
            config.get().activeListeners().values().stream().map(XdsResources.Versioned::resource))
        .filter(l -> l.getTrafficDirection() == TrafficDirection.INBOUND).map(Listener::getName).collect(Collectors.toSet());
    Predicate<String> which = inboundOnly ? inbound::contains : name -> true;
    List<Future<Void>> draining = new ArrayList<>();
    listenerServers.forEach(l -> draining.add(l.drain(which, settings.drainMillis())));
    return Future.all(draining).mapEmpty();
  }

  public void stop() {
    if (!stopping.compareAndSet(false, true)) {
      return;
    }
    state.set(ServerState.DRAINING);
    if (vertx != null) {
      try {
        vertx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("shutdown did not finish cleanly: {}", e.toString());
      }
    }
    // after the close, so the lines of connections it ended are written too
    AccessLogSink.flushAll();
    stopped.countDown();
  }

  /** POST /quitquitquit: stop off the event loop, which stopping waits for. */
  private void quit() {
    LOG.info("quitquitquit received: stopping");
    new Thread(this::stop, "vmesh-quit").start();
  }

  /**
   * LIVE once the listeners are bound and, with ADS, the first complete configuration runs (Istio's
   * readiness); DRAINING once draining or stopping.
   */
  public ServerState serverState() {
    ServerState now = state.get();
    return now == ServerState.LIVE && !configured() ? ServerState.PRE_INITIALIZING : now;
  }

  public boolean ready() {
    return serverState() == ServerState.LIVE;
  }

  private boolean configured() {
    if (!configured.get() && config.get().complete() && configured.compareAndSet(false, true) && config.get().ads().isPresent()) {
      LOG.info("vmesh-proxy: first complete xDS configuration applied: ready");
    }
    return configured.get();
  }

  /**
   * Runs {@code next} from now on: binds its new listeners (all or none: a listener that cannot bind fails
   * the update and leaves the running configuration alone), swaps it in for new connections, then stops
   * accepting on the listeners it no longer has while their connections finish. One update at a time.
   */
  public Future<Void> apply(RuntimeConfig next) {
    RuntimeConfig previous = config.get();
    List<Future<Void>> binding = listenerServers.stream().map(l -> l.bind(next)).toList();
    return Future.join(binding).transform(bound -> {
      if (bound.failed()) {
        Throwable cause = binding.stream().filter(Future::failed).findFirst().map(Future::cause).orElse(bound.cause());
        return Future.join(listenerServers.stream().map(l -> l.unbindRemoved(previous)).toList())
            .transform(v -> Future.failedFuture(cause));
      }
      next.listeners().keySet().forEach(stats::listener);
      next.clusters().keySet().forEach(stats::cluster);
      config.set(next);
      configured();
      listenerServers.forEach(l -> l.unbindRemoved(next).onFailure(e -> LOG.warn("draining removed listeners: {}", e.toString())));
      return Future.succeededFuture();
    });
  }

  public ProxyStats stats() {
    return stats;
  }

  public RuntimeConfig config() {
    return config.get();
  }
}
