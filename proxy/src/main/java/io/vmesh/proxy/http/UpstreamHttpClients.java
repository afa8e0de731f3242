package io.vmesh.proxy.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.stats.ProxyStats.ClusterStats;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * HTTP/1.1 clients for one event loop, one per cluster (name, connect timeout, source address), each
 * with its own keep-alive pool per endpoint; created on that loop so upstream connections share it.
 */
public final class UpstreamHttpClients {

  /** Envoy's default circuit breaker allows 1024 connections per cluster. */
  private static final int MAX_CONNECTIONS_PER_ENDPOINT = 1024;

  private final Vertx vertx;
  // only touched on the owning event loop
  private final Map<String, HttpClient> clients = new HashMap<>();

  public UpstreamHttpClients(Vertx vertx) {
    this.vertx = vertx;
  }

  public HttpClient client(ClusterConfig cluster, ClusterStats stats) {
    String source = cluster.sourceAddress().orElse(null);
    return clients.computeIfAbsent(cluster.name() + "/" + cluster.connectTimeoutMillis() + "/" + source, k -> {
      HttpClientOptions options = new HttpClientOptions()
          .setConnectTimeout(cluster.connectTimeoutMillis())
          .setKeepAlive(true)
          .setTcpNoDelay(true)
          .setMaxHeaderSize(HttpConnectionManager.MAX_HEADERS_BYTES)
          .setMaxInitialLineLength(HttpConnectionManager.MAX_HEADERS_BYTES);
      if (source != null) {
        options.setLocalAddress(source);
      }
      return vertx.httpClientBuilder()
          .with(options)
          .with(new PoolOptions().setHttp1MaxSize(MAX_CONNECTIONS_PER_ENDPOINT))
          .withConnectHandler(connection -> stats.connections.increment())
          .build();
    });
  }

  public Future<Void> close() {
    List<Future<Void>> closing = new ArrayList<>();
    clients.values().forEach(c -> closing.add(c.close()));
    return Future.all(closing).mapEmpty();
  }
}
