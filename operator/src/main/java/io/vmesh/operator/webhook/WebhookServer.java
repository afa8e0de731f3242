package io.vmesh.operator.webhook;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.ServerSSLOptions;
import io.vmesh.operator.inject.AdmissionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The injection webhook's HTTPS endpoint ({@code POST /inject}): hands the body to the {@link AdmissionHandler} and sends its
 * answer. The handler is pure and fast, so it runs on the event loop; certificates can be swapped without a restart.
 */
public final class WebhookServer {

  public static final String PATH = "/inject";
  /** The API server sends at most a few MB per object; more is not an AdmissionReview. */
  static final long MAX_BODY = 8L * 1024 * 1024;

  private static final Logger LOG = LoggerFactory.getLogger(WebhookServer.class);

  private final Vertx vertx;
  private final AdmissionHandler handler;
  private HttpServer server;

  public WebhookServer(Vertx vertx, AdmissionHandler handler) {
    this.vertx = vertx;
    this.handler = handler;
  }

  /** Listens on host:port (0 picks a free port) with the given certificate. */
  public Future<WebhookServer> start(String host, int port, ServingCertificate certs) {
    HttpServerOptions options = new HttpServerOptions().setHost(host).setPort(port).setSsl(true).setKeyCertOptions(keyCert(certs));
    return vertx.createHttpServer(options).requestHandler(this::handle).listen().map(s -> {
      server = s;
      LOG.info("injection webhook on https://{}:{}{}", host, s.actualPort(), PATH);
      return this;
    });
  }

  /** Serves new connections with another certificate (rotation); open connections keep theirs. */
  public Future<Boolean> updateCertificates(ServingCertificate certs) {
    return server.updateSSLOptions(new ServerSSLOptions().setKeyCertOptions(keyCert(certs)));
  }

  public int port() {
    return server.actualPort();
  }

  public Future<Void> stop() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  private void handle(HttpServerRequest req) {
    if (!PATH.equals(req.path())) {
      reply(req, 404, "no such path " + req.path() + "; the webhook serves POST " + PATH);
      return;
    }
    if (req.method() != HttpMethod.POST) {
      reply(req, 405, "method " + req.method() + " not allowed; the webhook serves POST " + PATH);
      return;
    }
    String length = req.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length != null && length.matches("\\d{1,18}") && Long.parseLong(length) > MAX_BODY) {
      reply(req, 413, "body of " + length + " bytes is larger than " + MAX_BODY);
      return;
    }
    req.body()
        .onSuccess(body -> {
          AdmissionHandler.Answer answer;
          try {
            answer = handler.handle(body.getBytes());
          } catch (RuntimeException e) {
            LOG.error("admission failed", e);
            reply(req, 500, "vmesh webhook failed: " + e);
            return;
          }
          req.response().setStatusCode(answer.status()).putHeader(HttpHeaders.CONTENT_TYPE, answer.contentType()).end(Buffer.buffer(answer.body()));
        })
        .onFailure(e -> reply(req, 400, "cannot read the request body: " + e.getMessage()));
  }

  private static void reply(HttpServerRequest req, int status, String message) {
    req.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8").end(message + "\n");
  }

  private static PemKeyCertOptions keyCert(ServingCertificate certs) {
    return new PemKeyCertOptions().addCertValue(Buffer.buffer(certs.certPem())).addKeyValue(Buffer.buffer(certs.keyPem()));
  }
}
