package io.vmesh.proxy.admin;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.util.function.Supplier;

/**
 * The kubelet's readiness probe target (Istio's :15021): {@code /healthz/ready}, 200 only while the proxy
 * is live (503 before its listeners are bound and while it drains), and nothing else.
 */
public final class HealthServer extends VerticleBase {

  private final String host;
  private final int port;
  private final Supplier<ServerState> state;
  private HttpServer server;

  public HealthServer(String host, int port, Supplier<ServerState> state) {
    this.host = host;
    this.port = port;
    this.state = state;
  }

  @Override
  public Future<?> start() {
    server = vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false)).requestHandler(req -> {
      var res = req.response().putHeader("content-type", "text/plain; charset=utf-8");
      if (!req.path().equals("/healthz/ready")) {
        res.setStatusCode(404).end();
      } else {
        ServerState now = state.get();
        res.setStatusCode(now == ServerState.LIVE ? 200 : 503).end(now + "\n");
      }
    });
    return server.listen(port, host);
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }
}
