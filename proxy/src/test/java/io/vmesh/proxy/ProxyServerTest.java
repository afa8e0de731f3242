package io.vmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The whole proxy on loopback, from a bootstrap: a bound listener whose tcp_proxy relays to a STATIC
 * cluster (a real echo server), the admin endpoints that describe it, health, and POST /quitquitquit.
 */
class ProxyServerTest {

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private ServerSocket echo;
  private ProxyServer proxy;

  @AfterEach
  void stop() throws IOException {
    if (proxy != null) {
      proxy.stop();
    }
    if (echo != null) {
      echo.close();
    }
  }

  @Test
  void relaysThroughAStaticClusterDescribesItselfAndQuitsOnRequest() throws Exception {
    echo = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread echoThread = new Thread(this::serveEcho, "echo");
    echoThread.setDaemon(true);
    echoThread.start();
    int front = freePort();
    int admin = freePort();
    int health = freePort();
    int prometheus = freePort();
    String tcp = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
    RuntimeConfig config = RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        admin: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
        static_resources:
          listeners:
          - name: front
            address: { socket_address: { address: 127.0.0.1, port_value: %d } }
            filter_chains:
            - filters: [ { name: tcp, typed_config: { "@type": "%s", stat_prefix: echo, cluster: echo } } ]
          clusters:
          - name: echo
            load_assignment:
              endpoints:
              - lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ]
        """.formatted(admin, front, tcp, echo.getLocalPort()), false), Clock.systemUTC());
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", health, "127.0.0.1", prometheus, 5000), config);
    proxy.start();
    String base = "http://127.0.0.1:" + admin;

    assertThat(exchange(front, "hello, static cluster")).isEqualTo("hello, static cluster");

    assertThat(get("http://127.0.0.1:" + health + "/healthz/ready")).isEqualTo("200 LIVE\n");
    assertThat(get(base + "/listeners")).isEqualTo("200 front::127.0.0.1:" + front + "\n");
    assertThat(get(base + "/clusters")).isEqualTo("200 echo::type::STATIC\necho::connect_timeout_ms::5000\n"
        + "echo::127.0.0.1:" + echo.getLocalPort() + "::health_flags::healthy\n");
    assertThat(get(base + "/config_dump")).startsWith("200 {").contains("\"name\": \"front\"");
    awaitStat(base, "cluster.echo.upstream_cx_total: 1");
    assertThat(get(base + "/stats")).contains("cluster.echo.upstream_cx_tx_bytes_total: 21",
        "cluster.echo.upstream_cx_rx_bytes_total: 21", "listener.front.downstream_cx_total: 1",
        "tcp.echo.downstream_cx_total: 1\n", "tcp.echo.downstream_cx_rx_bytes_total: 21\n", "server.state: 0\n");
    // the same counters, Istio's names and labels, on the Prometheus port and on admin
    String scraped = get("http://127.0.0.1:" + prometheus + "/stats/prometheus");
    assertThat(scraped).startsWith("200 ").contains(
        "envoy_cluster_upstream_cx_total{envoy_cluster_name=\"echo\"} 1.0",
        "envoy_cluster_upstream_cx_tx_bytes_total{envoy_cluster_name=\"echo\"} 21.0",
        "envoy_listener_downstream_cx_total{envoy_listener_name=\"front\"} 1.0",
        "envoy_tcp_downstream_cx_tx_bytes_total{envoy_tcp_prefix=\"echo\"} 21.0",
        "envoy_listener_downstream_cx_length_ms_count{envoy_listener_name=\"front\"} 1",
        "envoy_server_state 0.0");
    assertThat(get(base + "/stats/prometheus")).contains("envoy_cluster_upstream_cx_total{envoy_cluster_name=\"echo\"} 1.0");
    assertThat(get("http://127.0.0.1:" + prometheus + "/stats")).startsWith("404 ");
    assertThat(get(base + "/quitquitquit")).startsWith("405 ");

    HttpResponse<String> quit = http.send(HttpRequest.newBuilder(URI.create(base + "/quitquitquit"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(quit.statusCode()).isEqualTo(200);
    CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> {
      try {
        proxy.awaitStop();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    stopped.get(15, TimeUnit.SECONDS);
    assertThatThrownBy(() -> new Socket("127.0.0.1", front).close()).isInstanceOf(ConnectException.class);
  }

  private String exchange(int port, String message) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      s.setSoTimeout(5000);
      s.getOutputStream().write(message.getBytes(StandardCharsets.UTF_8));
      s.shutdownOutput();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private void serveEcho() {
    while (!echo.isClosed()) {
      try (Socket s = echo.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
        in.transferTo(out);
      } catch (IOException e) {
        // closed at the end of the test
      }
    }
  }

  private String get(String url) throws Exception {
    HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    return res.statusCode() + " " + res.body();
  }

  /** The relay's stats are counted when both sides have closed, a moment after the echo arrived. */
  private void awaitStat(String base, String line) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!get(base + "/stats").contains(line)) {
      assertThat(System.nanoTime()).as("waiting for " + line).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
