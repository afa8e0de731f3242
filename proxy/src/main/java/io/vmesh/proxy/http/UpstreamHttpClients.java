package io.vmesh.proxy.http;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.stats.ProxyStats.ClusterStats;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Upstream HTTP connections for one event loop. HTTP/1.1: {@link Http1Upstreams}, Netty channels on that
 * loop pooled per endpoint. HTTP/2: Vert.x HTTP clients, one per cluster (name, connect timeout, source
 * address, protocol), created on that loop so upstream connections share it, each with its own pool per
 * endpoint; HTTP/2 (h2c, prior knowledge): one connection
 * carrying every stream, requests over the server's concurrent-stream limit waiting for a stream to end.
 * (Vert.x's pool would open a connection per waiting request rather than one per stream limit's worth.)
 */
public final class UpstreamHttpClients {

  private final Vertx vertx;
  // only touched on the owning event loop
  private final Map<Key, HttpClient> clients = new HashMap<>();
  private final Http1Upstreams http1;
  // requests made so far on each HTTP/2 connection of a cluster with max_requests_per_connection
  private final Map<HttpConnection, Integer> requests = new HashMap<>();

  /** What makes two clients differ; a record, so a lookup per request builds no string. */
  private record Key(String cluster, long connectTimeoutMillis, String source, boolean http2, Http2Options h2, long idleMillis) {
  }

  public UpstreamHttpClients(Vertx vertx) {
    this.vertx = vertx;
    this.http1 = new Http1Upstreams((io.vertx.core.internal.VertxInternal) vertx);
  }

  /** The HTTP/1.1 connection pools of this event loop: requests to a cluster spoken to in HTTP/1.1 go there, not to a client. */
  Http1Upstreams http1() {
    return http1;
  }

  /** The client for {@code cluster}; {@code downstreamHttp2} decides the protocol under {@code use_downstream_protocol_config}. */
  public HttpClient client(ClusterConfig cluster, ClusterStats stats, boolean downstreamHttp2) {
    return client(cluster, stats, downstreamHttp2, cluster.sourceAddress().orElse(null));
  }

  /** The client for connections to {@code upstream}, bound to the cluster's source address of its family. */
  public HttpClient client(ClusterConfig cluster, ClusterStats stats, boolean downstreamHttp2, java.net.InetAddress upstream) {
    return client(cluster, stats, downstreamHttp2, cluster.sourceAddressFor(upstream).orElse(null));
  }

  private HttpClient client(ClusterConfig cluster, ClusterStats stats, boolean downstreamHttp2, String source) {
    boolean http2 = cluster.httpProtocol().http2(downstreamHttp2);
    Http2Options h2 = cluster.httpProtocol().http2();
    Key key = new Key(cluster.name(), cluster.connectTimeoutMillis(), source, http2, http2 ? h2 : null, cluster.httpProtocol().idleMillis());
    return clients.computeIfAbsent(key, k -> {
      HttpClientOptions options = new HttpClientOptions()
          .setConnectTimeout(cluster.connectTimeoutMillis())
          .setKeepAlive(true)
          .setTcpNoDelay(true)
          .setMaxHeaderSize(RequestReader.MAX_HEADERS_BYTES)
          .setMaxInitialLineLength(RequestReader.MAX_HEADERS_BYTES)
          // the cluster's idle_timeout, in Vert.x's whole seconds (rounded up; 0: never)
          .setHttp2KeepAliveTimeout((int) Math.min(Integer.MAX_VALUE, (cluster.httpProtocol().idleMillis() + 999) / 1000))
          .setKeepAliveTimeout((int) Math.min(Integer.MAX_VALUE, (cluster.httpProtocol().idleMillis() + 999) / 1000));
      if (http2) {
        // prior knowledge: no HTTP/1.1 Upgrade round trip, as Envoy talks h2c to a cluster configured for it
        options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
        Http2Settings settings = new Http2Settings().setMaxHeaderListSize(RequestReader.MAX_HEADERS_BYTES);
        if (h2.maxConcurrentStreams() != null) {
          options.setHttp2MultiplexingLimit(h2.maxConcurrentStreams());
        }
        if (h2.initialStreamWindowSize() != null) {
          settings.setInitialWindowSize(h2.initialStreamWindowSize());
        }
        if (h2.initialConnectionWindowSize() != null) {
          options.setHttp2ConnectionWindowSize(h2.initialConnectionWindowSize());
        }
        options.setInitialSettings(settings);
      }
      if (source != null) {
        options.setLocalAddress(source);
      }
      return vertx.httpClientBuilder()
          .with(options)
          .with(new PoolOptions().setHttp1MaxSize(Http1Upstreams.MAX_CONNECTIONS_PER_ENDPOINT).setHttp2MaxSize(1))
          .withConnectHandler(connection -> {
            stats.connections.increment();
            connection.closeHandler(v -> requests.remove(connection));
          })
          .build();
    });
  }

  /**
   * {@code max_requests_per_connection} on HTTP/2: the connection that carries a cluster's last allowed request is sent
   * GOAWAY once that request's answer has come, so the pool opens another; streams in flight on it finish (under
   * concurrency a few more than the limit may have started on it by then).
   */
  void started(ClusterConfig cluster, ClusterStats stats, HttpClientRequest request) {
    int max = cluster.httpProtocol().maxRequestsPerConnection();
    HttpConnection connection = request.connection();
    if (max <= 0 || connection == null) {
      return;
    }
    if (requests.merge(connection, 1, Integer::sum) == max) {
      request.response().onComplete(ar -> {
        stats.maxRequestsReached.increment();
        connection.shutdown(30, TimeUnit.SECONDS);
      });
    }
  }

  public Future<Void> close() {
    http1.close();
    List<Future<Void>> closing = new ArrayList<>();
    clients.values().forEach(c -> closing.add(c.close()));
    return Future.all(closing).mapEmpty();
  }
}
