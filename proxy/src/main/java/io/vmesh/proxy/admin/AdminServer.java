package io.vmesh.proxy.admin;

import io.netty.util.NetUtil;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.listener.ListenerConfig;
import io.vmesh.proxy.stats.ProxyStats;
import io.vertx.core.http.HttpServerResponse;
import java.net.InetSocketAddress;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The admin endpoint, on loopback only (like Envoy's :15000): {@code /ready}, {@code /stats},
 * {@code /stats/prometheus}, {@code /config_dump}, {@code /listeners}, {@code /clusters}, POST
 * {@code /quitquitquit}, POST {@code /drain_listeners}.
 */
public final class AdminServer extends VerticleBase {

  private static final String INDEX = """
      vmesh-proxy admin
        /ready              200 LIVE once every listener is bound; 503 PRE_INITIALIZING or DRAINING
        /stats              counters and gauges, one 'name: value' a line
        /stats/prometheus   every meter, histograms included, in Prometheus's text format
        /config_dump        the running configuration as Envoy's ConfigDump JSON
        /listeners          name::address, one listener a line
        /clusters           name::property::value, one line each
        /quitquitquit       POST: exit cleanly
        /drain_listeners    POST: stop accepting (?inboundonly: inbound listeners only), keep running
      """;

  private final InetSocketAddress address;
  private final ProxyStats stats;
  private final Supplier<ServerState> state;
  private final Supplier<RuntimeConfig> configs;
  private final Runnable quit;
  private final Function<Boolean, Future<Void>> drain;
  private HttpServer server;

  /** @param drain stops accepting on every listener, or on the inbound ones only when given true */
  public AdminServer(InetSocketAddress address, ProxyStats stats, Supplier<ServerState> state, Supplier<RuntimeConfig> configs,
                     Runnable quit, Function<Boolean, Future<Void>> drain) {
    this.address = address;
    this.stats = stats;
    this.state = state;
    this.configs = configs;
    this.quit = quit;
    this.drain = drain;
  }

  @Override
  public Future<?> start() {
    // HTTP/1.1 only: an h2c-upgraded client would see /quitquitquit's GOAWAY race its own 200
    server = vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false)).requestHandler(this::handle);
    return server.listen(address.getPort(), address.getAddress().getHostAddress());
  }

  @Override
  public Future<?> stop() {
    return server.close();
  }

  private void handle(HttpServerRequest req) {
    var res = req.response().putHeader("content-type", "text/plain; charset=utf-8");
    switch (req.path()) {
      case "/ready" -> {
        ServerState now = state.get();
        res.setStatusCode(now == ServerState.LIVE ? 200 : 503).end(now + "\n");
      }
      case "/stats" -> res.end(stats.text());
      case "/stats/prometheus" -> vertx.executeBlocking(stats::prometheus, false)
          .onSuccess(text -> res.putHeader("content-type", PrometheusServer.CONTENT_TYPE).end(text))
          .onFailure(t -> res.setStatusCode(500).end(t + "\n"));
      case "/config_dump" -> res.putHeader("content-type", "application/json").end(configs.get().configDump());
      case "/listeners" -> res.end(listeners(configs.get()));
      case "/clusters" -> res.end(clusters(configs.get()));
      case "/quitquitquit" -> {
        if (!postOnly(req, res)) {
          return;
        }
        // answer first: stopping closes this very server
        res.putHeader("connection", "close").end("OK\n").onComplete(v -> quit.run());
      }
      case "/drain_listeners" -> {
        if (!postOnly(req, res)) {
          return;
        }
        // answered at once, as Envoy does: the listeners unbind in a moment, their connections drain on their own
        drain.apply(req.params().contains("inboundonly"));
        res.end("OK\n");
      }
      case "/" -> res.end(INDEX);
      default -> res.setStatusCode(404).end("no admin endpoint " + req.path() + "; see /\n");
    }
  }

  private static boolean postOnly(HttpServerRequest req, HttpServerResponse res) {
    if (req.method() != HttpMethod.POST) {
      res.setStatusCode(405).putHeader("allow", "POST").end("use POST\n");
      return false;
    }
    return true;
  }

  /** Envoy's text form: {@code name::ip:port}. */
  static String listeners(RuntimeConfig config) {
    StringBuilder sb = new StringBuilder();
    for (ListenerConfig l : config.listeners().values()) {
      sb.append(l.name()).append("::").append(hostPort(l.address())).append('\n');
    }
    return sb.toString();
  }

  /** Envoy's text form, {@code cluster::property::value}, for the properties this proxy has. */
  static String clusters(RuntimeConfig config) {
    StringBuilder sb = new StringBuilder();
    for (ClusterConfig c : config.clusters().values()) {
      sb.append(c.name()).append("::type::").append(c.type()).append('\n');
      sb.append(c.name()).append("::connect_timeout_ms::").append(c.connectTimeoutMillis()).append('\n');
      c.sourceAddress().ifPresent(s -> sb.append(c.name()).append("::source_address::").append(s).append('\n'));
      for (InetSocketAddress e : c.endpoints()) {
        sb.append(c.name()).append("::").append(hostPort(e)).append("::health_flags::healthy\n");
      }
    }
    return sb.toString();
  }

  private static String hostPort(InetSocketAddress a) {
    String host = NetUtil.toAddressString(a.getAddress());
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
  }
}
