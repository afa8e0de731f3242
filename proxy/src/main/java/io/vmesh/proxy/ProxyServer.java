package io.vmesh.proxy;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vmesh.proxy.accesslog.AccessLog;
import io.vmesh.proxy.admin.AdminServer;
import io.vmesh.proxy.admin.HealthServer;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.listener.ListenerServer;
import io.vmesh.proxy.stats.ProxyStats;
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

  /** @param healthPort 0 for no health server */
  public record Settings(int concurrency, String healthAddress, int healthPort) {
    public Settings {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
      }
    }
  }

  private final Settings settings;
  private final ProxyStats stats = new ProxyStats();
  // read once per accepted connection; a new configuration replaces it whole
  private final AtomicReference<RuntimeConfig> config;
  private final AtomicBoolean ready = new AtomicBoolean();
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private Vertx vertx;

  public ProxyServer(Settings settings, RuntimeConfig initial) {
    this.settings = settings;
    this.config = new AtomicReference<>(initial);
    initial.listeners().keySet().forEach(stats::listener);
    initial.clusters().keySet().forEach(stats::cluster);
  }

  /** Starts everything or fails; in particular it refuses to run on anything but native epoll. */
  public void start() throws Exception {
    vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(settings.concurrency()));
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
      Future<?> started = vertx.deployVerticle(() -> new ListenerServer(config::get, stats, accessLog, clock),
          new DeploymentOptions().setInstances(settings.concurrency()));
      if (initial.admin().isPresent()) {
        started = started.compose(id -> vertx.deployVerticle(
            new AdminServer(initial.admin().get(), stats, ready::get, config::get, this::quit)));
      }
      if (settings.healthPort() != 0) {
        started = started.compose(id -> vertx.deployVerticle(new HealthServer(settings.healthAddress(), settings.healthPort(), ready::get)));
      }
      started.await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("the proxy could not start: " + e.getMessage(), e);
    }
    ready.set(true);
    String listeners = initial.boundListeners().stream()
        .map(l -> l.name() + " on " + l.address().getAddress().getHostAddress() + ":" + l.address().getPort())
        .collect(Collectors.joining(", "));
    long handoff = initial.listeners().values().stream().filter(l -> !l.bindToPort()).count();
    LOG.info("vmesh-proxy ready: {} (+{} hand-off listeners, {} clusters), admin on {}, health on {}, {} event loops (epoll)",
        listeners, handoff, initial.clusters().size(), initial.admin().map(a -> a.getAddress().getHostAddress() + ":" + a.getPort()).orElse("none"),
        settings.healthPort() == 0 ? "none" : settings.healthAddress() + ":" + settings.healthPort(), settings.concurrency());
  }

  public void awaitStop() throws InterruptedException {
    stopped.await();
  }

  public void stop() {
    if (!stopping.compareAndSet(false, true)) {
      return;
    }
    ready.set(false);
    if (vertx != null) {
      try {
        vertx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("shutdown did not finish cleanly: {}", e.toString());
      }
    }
    stopped.countDown();
  }

  /** POST /quitquitquit: stop off the event loop, which stopping waits for. */
  private void quit() {
    LOG.info("quitquitquit received: stopping");
    new Thread(this::stop, "vmesh-quit").start();
  }

  public ProxyStats stats() {
    return stats;
  }

  public RuntimeConfig config() {
    return config.get();
  }
}
