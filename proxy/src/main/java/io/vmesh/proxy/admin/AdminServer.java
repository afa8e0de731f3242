package io.vmesh.proxy.admin;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vmesh.proxy.stats.ProxyStats;
import java.util.function.BooleanSupplier;

/**
 * The admin endpoint, on loopback only (like Envoy's :15000): {@code /ready} and {@code /stats}.
 */
public final class AdminServer extends VerticleBase {

  private final String host;
  private final int port;
  private final ProxyStats stats;
  private final BooleanSupplier ready;
  private HttpServer server;

  public AdminServer(String host, int port, ProxyStats stats, BooleanSupplier ready) {
    this.host = host;
    this.port = port;
    this.stats = stats;
    this.ready = ready;
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer().requestHandler(this::handle);
    return server.listen(port, host);
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }

  private void handle(HttpServerRequest req) {
    var res = req.response().putHeader("content-type", "text/plain; charset=utf-8");
    switch (req.path()) {
      case "/ready" -> {
        boolean live = ready.getAsBoolean();
        res.setStatusCode(live ? 200 : 503).end(live ? "LIVE\n" : "PRE_INITIALIZING\n");
      }
      case "/stats" -> res.end(stats.text());
      case "/" -> res.end("vmesh-proxy admin\n  /ready  200 once every listener is bound\n  /stats  counters, one 'name: value' a line\n");
      default -> res.setStatusCode(404).end("no admin endpoint " + req.path() + "; see /\n");
    }
  }
}
