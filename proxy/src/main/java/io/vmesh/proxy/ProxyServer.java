package io.vmesh.proxy;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vmesh.proxy.accesslog.AccessLog;
import io.vmesh.proxy.admin.AdminServer;
import io.vmesh.proxy.listener.VirtualOutboundListener;
import io.vmesh.proxy.stats.ProxyStats;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The running proxy: a Vert.x instance on native epoll, its listeners and its admin server. */
public final class ProxyServer {

  private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);

  public record Settings(String listenAddress, int outboundPort, String adminAddress, int adminPort, int concurrency) {
    public Settings {
      if (concurrency < 1) {
        throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
      }
    }
  }

  private final Settings settings;
  private final ProxyStats stats = new ProxyStats();
  private final AtomicBoolean ready = new AtomicBoolean();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private Vertx vertx;

  public ProxyServer(Settings settings) {
    this.settings = settings;
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
    try {
      vertx.deployVerticle(() -> new VirtualOutboundListener(settings.listenAddress(), settings.outboundPort(), stats, accessLog, clock),
              new DeploymentOptions().setInstances(settings.concurrency()))
          .compose(id -> vertx.deployVerticle(new AdminServer(settings.adminAddress(), settings.adminPort(), stats, ready::get)))
          .await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      throw new IllegalStateException("the proxy could not start: " + e.getMessage(), e);
    }
    ready.set(true);
    LOG.info("vmesh-proxy ready: {} on {}:{}, admin on {}:{}, {} event loops (epoll)", VirtualOutboundListener.NAME,
        settings.listenAddress(), settings.outboundPort(), settings.adminAddress(), settings.adminPort(), settings.concurrency());
  }

  public void awaitStop() throws InterruptedException {
    stopped.await();
  }

  public void stop() {
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

  public ProxyStats stats() {
    return stats;
  }
}
