package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The whole proxy on loopback with an {@code http_connection_manager} listener, real HTTP upstreams
 * (the JDK's server) and a client on a plain socket: routing, weights, local replies, retries,
 * timeouts, malformed requests and upstream keep-alive, observed on the upstreams and in the stats.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpConnectionManagerTest {

  static {
    // the JDK server writes headers and body apart; with Nagle on, each response would wait for a delayed ACK
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  /** One request as an upstream saw it. */
  record Seen(String server, String path, Map<String, List<String>> headers, int remotePort) {
  }

  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final List<HttpServer> upstreams = new CopyOnWriteArrayList<>();
  private ProxyServer proxy;
  private int front;
  private int sniffed;

  @BeforeAll
  void start() throws Exception {
    int a = upstream("a");
    int b = upstream("b");
    int c = upstream("c");
    int dead = freePort();
    front = freePort();
    sniffed = freePort();
    String hcm = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    String router = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
    String inspector = "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector";
    String tcp = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0), RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: front
            address: { socket_address: { address: 127.0.0.1, port_value: %d } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": %s
                  stat_prefix: front
                  codec_type: HTTP1
                  http_filters: [ { name: envoy.filters.http.router, typed_config: { "@type": %s } } ]
                  route_config:
                    name: local
                    virtual_hosts:
                    - { name: exact, domains: [ a.example.com ], routes: [ { match: { prefix: / }, route: { cluster: b } } ] }
                    - { name: suffix, domains: [ "*.example.com" ], routes: [ { match: { prefix: / }, route: { cluster: c } } ] }
                    - name: any
                      domains: [ "*" ]
                      routes:
                      - { match: { path: /flaky }, route: { cluster: c, retry_policy: { retry_on: 5xx, num_retries: 2 } } }
                      - { match: { path: /always }, route: { cluster: c, retry_policy: { retry_on: "reset,5xx", num_retries: 2 } } }
                      - { match: { prefix: /slow }, route: { cluster: a, timeout: 0.3s } }
                      - { match: { prefix: /dead }, route: { cluster: dead, retry_policy: { retry_on: connect-failure, num_retries: 1 } } }
                      - { match: { prefix: /blackhole }, route: { cluster: blackhole } }
                      - match: { prefix: /split }
                        route: { weighted_clusters: { clusters: [ { name: a, weight: 1 }, { name: b, weight: 3 } ] } }
                      - { match: { safe_regex: { regex: "/b/[0-9]+" } }, route: { cluster: b } }
                      - match: { prefix: /hdr, headers: [ { name: x-pick, string_match: { prefix: c } } ] }
                        route: { cluster: c }
                      - { match: { prefix: /hdr, headers: [ { name: x-pick, present_match: true } ] }, route: { cluster: b } }
                      - { match: { prefix: /hdr }, route: { cluster: a } }
                      - { match: { prefix: /a }, route: { cluster: a } }
          - name: sniffed
            address: { socket_address: { address: 127.0.0.1, port_value: %d } }
            listener_filters: [ { name: envoy.filters.listener.http_inspector, typed_config: { "@type": %s } } ]
            filter_chains:
            - filter_chain_match: { application_protocols: [ http/1.1 ] }
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": %s
                  stat_prefix: sniffed
                  route_config: { virtual_hosts: [ { name: all, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: a } } ] } ] }
            default_filter_chain:
              filters: [ { name: tcp, typed_config: { "@type": %s, stat_prefix: raw, cluster: b } } ]
          clusters:
          - { name: a, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ] } ] } }
          - { name: b, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ] } ] } }
          - { name: c, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ] } ] } }
          - { name: dead, connect_timeout: 1s, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ] } ] } }
          - { name: blackhole }
        """.formatted(front, hcm, router, sniffed, inspector, hcm, tcp, a, b, c, dead), false), Clock.systemUTC()));
    proxy.start();
  }

  @AfterAll
  void stop() {
    if (proxy != null) {
      proxy.stop();
    }
    upstreams.forEach(s -> s.stop(0));
    executor.shutdownNow();
  }

  @Test
  void virtualHostsByHostThenFirstMatchingRouteByPathAndHeaders() throws Exception {
    assertThat(RawHttp.get(front, "a.example.com", "/a").text()).isEqualTo("b /a");
    assertThat(RawHttp.get(front, "x.example.com", "/a").text()).isEqualTo("c /a");
    assertThat(RawHttp.get(front, "other", "/a/x?q=1").text()).isEqualTo("a /a/x?q=1");
    assertThat(RawHttp.get(front, "other", "/b/42?q=1").text()).isEqualTo("b /b/42?q=1");
    assertThat(RawHttp.get(front, "other", "/hdr", "x-pick: cat").text()).isEqualTo("c /hdr");
    assertThat(RawHttp.get(front, "other", "/hdr", "x-pick: dog").text()).isEqualTo("b /hdr");
    assertThat(RawHttp.get(front, "other", "/hdr").text()).isEqualTo("a /hdr");
  }

  @Test
  void noRouteIs404AndAnEmptyClusterIs503NoHealthyUpstream() throws Exception {
    assertThat(RawHttp.get(front, "other", "/b/x").status()).isEqualTo(404);
    RawHttp.Response uh = RawHttp.get(front, "other", "/blackhole");
    assertThat(uh.status()).isEqualTo(503);
    assertThat(uh.text()).isEqualTo("no healthy upstream");
  }

  @Test
  void forwardsHeadersTheEnvoyWay() throws Exception {
    RawHttp.Response r = RawHttp.get(front, "other", "/a/headers", "Connection: keep-alive, x-hop", "x-hop: 1",
        "x-forwarded-for: 10.0.0.1", "x-keep: yes");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.headers()).containsKey("x-envoy-upstream-service-time");
    Seen s = seenAt("/a/headers").get(0);
    assertThat(s.headers().get("X-forwarded-for")).containsExactly("10.0.0.1, 127.0.0.1");
    assertThat(s.headers().get("X-request-id").get(0)).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    assertThat(s.headers().get("X-keep")).containsExactly("yes");
    assertThat(s.headers()).doesNotContainKey("X-hop");
    assertThat(s.headers().get("Host")).containsExactly("other");

    RawHttp.get(front, "other", "/a/given-id", "x-request-id: abc");
    assertThat(seenAt("/a/given-id").get(0).headers().get("X-request-id")).containsExactly("abc");
  }

  @Test
  void weightedClustersSplitInProportion() throws Exception {
    int n = 400;
    int toB = 0;
    try (RawHttp c = new RawHttp(front)) {
      for (int i = 0; i < n; i++) {
        if (c.send(RawHttp.request("GET", "other", "/split")).text().startsWith("b ")) {
          toB++;
        }
      }
    }
    // expected 300 of 400 (weights 1:3); the bounds are more than 6 standard deviations (8.7) wide
    assertThat(toB).isBetween(247, 353);
  }

  @Test
  void connectFailureIs503AfterTheConfiguredRetry() throws Exception {
    RawHttp.Response r = RawHttp.get(front, "other", "/dead");
    assertThat(r.status()).isEqualTo(503);
    assertThat(r.text()).startsWith("upstream connect error or disconnect/reset before headers");
    assertThat(stat("cluster.dead.upstream_cx_connect_fail")).isEqualTo(2);
    assertThat(stat("cluster.dead.upstream_rq_retry")).isEqualTo(1);
  }

  @Test
  void routeTimeoutIs504() throws Exception {
    long t0 = System.nanoTime();
    RawHttp.Response r = RawHttp.get(front, "other", "/slow");
    assertThat(r.status()).isEqualTo(504);
    assertThat(r.text()).isEqualTo("upstream request timeout");
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(250L, 1500L);
    assertThat(stat("cluster.a.upstream_rq_timeout")).isEqualTo(1);
  }

  @Test
  void retriesOn5xxUntilSuccessOrExhausted() throws Exception {
    RawHttp.Response ok = RawHttp.get(front, "other", "/flaky");
    assertThat(ok.status()).isEqualTo(200);
    assertThat(attempts.get("/flaky").get()).isEqualTo(3);
    RawHttp.Response failed = RawHttp.get(front, "other", "/always");
    assertThat(failed.status()).isEqualTo(503);
    assertThat(failed.text()).isEqualTo("always failing");
    assertThat(attempts.get("/always").get()).isEqualTo(3);
    assertThat(stat("cluster.c.upstream_rq_retry")).isEqualTo(4);
    assertThat(stat("cluster.c.upstream_rq_5xx")).isGreaterThanOrEqualTo(5);
  }

  @Test
  void malformedRequestIs400AndClosed() throws Exception {
    try (RawHttp c = new RawHttp(front)) {
      RawHttp.Response r = c.send("GET / HTTP/1.1\r\nHost: other\r\nContent-Length: nope\r\n\r\n");
      assertThat(r.status()).isEqualTo(400);
      assertThat(r.headers().get("connection")).isEqualTo("close");
      assertThat(c.closedByServer()).isTrue();
    }
  }

  @Test
  void anHttp2PrefaceIs400WhereTheCodecIsHttp1() throws Exception {
    try (RawHttp c = new RawHttp(front)) {
      assertThat(c.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").status()).isEqualTo(400);
      assertThat(c.closedByServer()).isTrue();
    }
  }

  @Test
  void theBytesHttpInspectorReadAreDecodedFirstThenTheConnectionIsKeptAlive() throws Exception {
    try (RawHttp c = new RawHttp(sniffed)) {
      assertThat(c.send(RawHttp.request("GET", "any", "/first")).text()).isEqualTo("a /first");
      assertThat(c.send(RawHttp.request("GET", "any", "/second")).text()).isEqualTo("a /second");
    }
    assertThat(seenAt("/second").get(0).headers().get("X-forwarded-for")).containsExactly("127.0.0.1");
  }

  @Test
  void headersOverTheLimitAre431() throws Exception {
    try (RawHttp c = new RawHttp(front)) {
      RawHttp.Response r = c.send(RawHttp.request("GET", "other", "/a", "x-big: " + "x".repeat(70 * 1024)));
      assertThat(r.status()).isEqualTo(431);
      assertThat(c.closedByServer()).isTrue();
    }
  }

  @Test
  void bodiesBothWaysAndUpstreamConnectionsKeptAlive() throws Exception {
    byte[] data = new byte[300 * 1024];
    new Random(7).nextBytes(data);
    long connectionsBefore = stat("cluster.b.upstream_cx_total");
    try (RawHttp c = new RawHttp(front)) {
      for (int i = 0; i < 3; i++) {
        byte[] head = ("POST /b/1 HTTP/1.1\r\nHost: other\r\nContent-Length: " + data.length + "\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1);
        byte[] request = new byte[head.length + data.length];
        System.arraycopy(head, 0, request, 0, head.length);
        System.arraycopy(data, 0, request, head.length, data.length);
        assertThat(c.send(request).text()).isEqualTo("b /b/1 " + sha256(data));
      }
      RawHttp.Response big = c.send(RawHttp.request("GET", "other", "/b/2", "x-big-response: 4194304"));
      assertThat(big.body()).hasSize(4 * 1024 * 1024);
      assertThat(big.headers().get("transfer-encoding")).isEqualTo("chunked");
    }
    assertThat(seenAt("/b/1").stream().map(Seen::remotePort).distinct().count()).isEqualTo(1);
    assertThat(stat("cluster.b.upstream_cx_total") - connectionsBefore).isLessThanOrEqualTo(1);
  }

  @Test
  void bodiesOverTheBufferStreamWhereNoRetryNeedsThemAndAreRefusedWhereOneMight() throws Exception {
    byte[] data = new byte[5 * 1024 * 1024];
    new Random(11).nextBytes(data);
    try (RawHttp c = new RawHttp(front)) {
      java.io.ByteArrayOutputStream chunked = new java.io.ByteArrayOutputStream();
      chunked.write("POST /b/3 HTTP/1.1\r\nHost: other\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      for (int off = 0; off < data.length; off += 100_000) {
        int n = Math.min(100_000, data.length - off);
        chunked.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        chunked.write(data, off, n);
        chunked.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
      }
      chunked.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      assertThat(c.send(chunked.toByteArray()).text()).isEqualTo("b /b/3 " + sha256(data));
      assertThat(c.send(RawHttp.request("GET", "other", "/b/4")).text()).isEqualTo("b /b/4");
    }
    try (RawHttp c = new RawHttp(front)) {
      byte[] head = ("POST /flaky HTTP/1.1\r\nHost: other\r\nContent-Length: " + data.length + "\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1);
      byte[] request = new byte[head.length + data.length];
      System.arraycopy(head, 0, request, 0, head.length);
      System.arraycopy(data, 0, request, head.length, data.length);
      assertThat(c.send(request).status()).isEqualTo(413);
    }
    try (RawHttp c = new RawHttp(front)) {
      byte[] head = ("POST /nowhere HTTP/1.1\r\nHost: other\r\nContent-Length: " + data.length + "\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1);
      c.send(head, data);
      assertThat(c.read().status()).as("no route comes before the body's size").isEqualTo(404);
    }
  }

  private List<Seen> seenAt(String path) {
    return seen.stream().filter(s -> s.path().equals(path)).toList();
  }

  private long stat(String name) {
    for (String line : proxy.stats().text().split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Long.parseLong(line.substring(name.length() + 2));
      }
    }
    throw new AssertionError("no stat " + name);
  }

  /** An upstream answering "{name} {uri}" (plus the body's SHA-256 for a POST); some paths fail or stall on purpose. */
  private int upstream(String name) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    server.setExecutor(executor);
    server.createContext("/", ex -> {
      try (ex) {
        byte[] body = ex.getRequestBody().readAllBytes();
        String uri = ex.getRequestURI().toString();
        seen.add(new Seen(name, ex.getRequestURI().getPath(), Map.copyOf(ex.getRequestHeaders()), ex.getRemoteAddress().getPort()));
        int attempt = attempts.computeIfAbsent(uri, k -> new AtomicInteger()).incrementAndGet();
        if (uri.equals("/flaky") && attempt < 3) {
          reply(ex, 503, "try again");
        } else if (uri.equals("/always")) {
          reply(ex, 503, "always failing");
        } else if (uri.startsWith("/slow")) {
          Thread.sleep(2000);
          reply(ex, 200, "late");
        } else if (ex.getRequestHeaders().containsKey("x-big-response")) {
          int size = Integer.parseInt(ex.getRequestHeaders().getFirst("x-big-response"));
          ex.sendResponseHeaders(200, 0);
          try (OutputStream out = ex.getResponseBody()) {
            out.write(new byte[size]);
          }
        } else {
          reply(ex, 200, name + " " + uri + (ex.getRequestMethod().equals("POST") ? " " + sha256(body) : ""));
        }
      } catch (Exception e) {
        throw new IOException(e);
      }
    });
    server.start();
    upstreams.add(server);
    return server.getAddress().getPort();
  }

  private static void reply(HttpExchange ex, int status, String text) throws IOException {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
  }

  private static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
