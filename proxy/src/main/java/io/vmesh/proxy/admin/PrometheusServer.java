package io.vmesh.proxy.admin;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vmesh.proxy.stats.ProxyStats;

/**
 * Istio's {@code :15090/stats/prometheus}: every meter in Prometheus's text format, for the scraper the
 * injector's {@code prometheus.io/*} annotations point at; any other path is 404.
 */
public final class PrometheusServer extends VerticleBase {

  static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final String host;
  private final int port;
  private final ProxyStats stats;
  private HttpServer server;

  public PrometheusServer(String host, int port, ProxyStats stats) {
    this.host = host;
    this.port = port;
    this.stats = stats;
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false)).requestHandler(req -> {
      if (!req.path().equals("/stats/prometheus")) {
        req.response().setStatusCode(404).end();
        return;
      }
      // a scrape walks every meter: off the event loop, which carries traffic
      vertx.executeBlocking(stats::prometheus, false).onComplete(ar -> {
        if (ar.succeeded()) {
          req.response().putHeader("content-type", CONTENT_TYPE).end(ar.result());
        } else {
          req.response().setStatusCode(500).end(String.valueOf(ar.cause()));
        }
      });
    });
    return server.listen(port, host);
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }
}
