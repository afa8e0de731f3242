package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vmesh.proxy.Await;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A cluster's {@code common_http_protocol_options} on real upstreams that count their connections: an idle pooled
 * connection is closed by the proxy after {@code idle_timeout} and the next request opens another, and
 * {@code max_requests_per_connection: 2} spreads 3 requests over 2 connections — for HTTP/1.1 (the proxy's own pool)
 * and HTTP/2 (the Vert.x client).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UpstreamConnectionLifetimeTest {

  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  private static final String OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private final ExecutorService executor = Executors.newCachedThreadPool();
  private ServerSocket h1;
  /** One entry per connection the HTTP/1.1 upstream accepted: "open", then "closed" once it read EOF. */
  private final List<String[]> h1Connections = new CopyOnWriteArrayList<>();
  private Vertx vertx;
  private final AtomicInteger h2Opened = new AtomicInteger();
  private final AtomicInteger h2Closed = new AtomicInteger();
  private ProxyServer proxy;
  private int front;

  @BeforeEach
  void start() throws Exception {
    h1 = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    executor.submit(() -> {
      while (!h1.isClosed()) {
        Socket s = h1.accept();
        String[] state = {"open"};
        h1Connections.add(state);
        executor.submit(() -> serveKeptAlive(s, state));
      }
      return null;
    });
    vertx = Vertx.vertx();
    int h2 = vertx.createHttpServer(new HttpServerOptions())
        .connectionHandler(c -> {
          h2Opened.incrementAndGet();
          c.closeHandler(v -> h2Closed.incrementAndGet());
        })
        .requestHandler(r -> r.response().end("ok"))
        .listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).actualPort();
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      front = s.getLocalPort();
    }
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0), RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: front
            address: { socket_address: { address: 127.0.0.1, port_value: %1$d } }
            filter_chains:
            - filters:
              - name: hcm
                typed_config:
                  "@type": %2$s
                  stat_prefix: front
                  route_config:
                    virtual_hosts:
                    - name: all
                      domains: [ "*" ]
                      routes:
                      - { match: { prefix: /h1/idle }, route: { cluster: h1-idle } }
                      - { match: { prefix: /h1/max }, route: { cluster: h1-max } }
                      - { match: { prefix: /h2/idle }, route: { cluster: h2-idle } }
                      - { match: { prefix: /h2/max }, route: { cluster: h2-max } }
          clusters:
          - name: h1-idle
            load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %4$d } } } } ] } ] }
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                { "@type": %3$s, explicit_http_config: { http_protocol_options: {} }, common_http_protocol_options: { idle_timeout: 0.4s } }
          - name: h1-max
            load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %4$d } } } } ] } ] }
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                { "@type": %3$s, explicit_http_config: { http_protocol_options: {} }, common_http_protocol_options: { max_requests_per_connection: 2 } }
          - name: h2-idle
            load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %5$d } } } } ] } ] }
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                { "@type": %3$s, explicit_http_config: { http2_protocol_options: {} }, common_http_protocol_options: { idle_timeout: 1s } }
          - name: h2-max
            load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %5$d } } } } ] } ] }
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                { "@type": %3$s, explicit_http_config: { http2_protocol_options: {} }, common_http_protocol_options: { max_requests_per_connection: 2 } }
        """.formatted(front, HCM, OPTIONS, h1.getLocalPort(), h2), false), Clock.systemUTC()));
    proxy.start();
  }

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.stop();
    }
    h1.close();
    executor.shutdownNow();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void anIdleHttp1ConnectionIsClosedAfterIdleTimeoutAndTheNextRequestOpensAnother() throws Exception {
    // a lower bound: the connection went idle after this, once the response was in
    long sent = System.nanoTime();
    assertThat(RawHttp.get(front, "x", "/h1/idle/1").text()).isEqualTo("ok");
    Await.until(() -> h1Connections.size() == 1 && h1Connections.get(0)[0].equals("closed"),
        "the upstream to see the proxy close its idle connection", Duration.ofSeconds(10));
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent)).as("ms from the request to the close").isGreaterThanOrEqualTo(400);
    assertThat(stat("cluster.h1-idle.upstream_cx_idle_timeout")).isEqualTo(1);

    assertThat(RawHttp.get(front, "x", "/h1/idle/2").text()).isEqualTo("ok");
    assertThat(h1Connections).hasSize(2);
    assertThat(stat("cluster.h1-idle.upstream_cx_total")).isEqualTo(2);
  }

  @Test
  void maxRequestsPerConnectionTwoSpreadsThreeHttp1RequestsOverTwoConnections() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertThat(RawHttp.get(front, "x", "/h1/max/" + i).text()).isEqualTo("ok");
    }
    assertThat(h1Connections).hasSize(2);
    Await.until(() -> h1Connections.get(0)[0].equals("closed"), "the first connection closed after its second request",
        Duration.ofSeconds(10));
    assertThat(h1Connections.get(1)[0]).as("the second, one request in, stays pooled").isEqualTo("open");
    assertThat(stat("cluster.h1-max.upstream_cx_max_requests")).isEqualTo(1);
  }

  @Test
  void http2ConnectionsLiveAsLongAndAsManyRequestsAsTheClusterSays() throws Exception {
    for (int i = 0; i < 3; i++) {
      assertThat(RawHttp.get(front, "x", "/h2/max/" + i).text()).isEqualTo("ok");
    }
    assertThat(h2Opened.get()).as("3 requests, at most 2 a connection").isEqualTo(2);
    assertThat(stat("cluster.h2-max.upstream_cx_max_requests")).isEqualTo(1);
    Await.until(() -> h2Closed.get() == 1, "the first connection gone away", Duration.ofSeconds(10));

    assertThat(RawHttp.get(front, "x", "/h2/idle/1").text()).isEqualTo("ok");
    assertThat(h2Opened.get()).isEqualTo(3);
    // Vert.x counts the idle timeout in whole seconds and checks its pool every second
    Await.until(() -> h2Closed.get() == 2, "the idle HTTP/2 connection closed", Duration.ofSeconds(15));
    assertThat(RawHttp.get(front, "x", "/h2/idle/2").text()).isEqualTo("ok");
    assertThat(h2Opened.get()).isEqualTo(4);
  }

  /** HTTP/1.1 keep-alive: "ok" to every request until the client closes, then marks the connection closed. */
  private static void serveKeptAlive(Socket s, String[] state) {
    try (s) {
      InputStream in = s.getInputStream();
      while (RawUpstreamProxy.head(in) != null) {
        s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
      }
    } catch (IOException e) {
      // reset by the proxy: closed too
    }
    state[0] = "closed";
  }

  private long stat(String name) {
    return RawUpstreamProxy.stat(proxy, name);
  }
}
