package io.vmesh.proxy.admin;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import java.util.function.BooleanSupplier;

/** The kubelet's readiness probe target (Istio's :15021): {@code /healthz/ready}, and nothing else. */
public final class HealthServer extends VerticleBase {

  private final String host;
  private final int port;
  private final BooleanSupplier ready;
  private HttpServer server;

  public HealthServer(String host, int port, BooleanSupplier ready) {
    this.host = host;
    this.port = port;
    this.ready = ready;
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer().requestHandler(req -> {
      var res = req.response().putHeader("content-type", "text/plain; charset=utf-8");
      if (!req.path().equals("/healthz/ready")) {
        res.setStatusCode(404).end();
      } else if (ready.getAsBoolean()) {
        res.end("LIVE\n");
      } else {
        res.setStatusCode(503).end("PRE_INITIALIZING\n");
      }
    });
    return server.listen(port, host);
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }
}
