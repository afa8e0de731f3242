package io.vmesh.proxy.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.Await;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * lb_policy and outlier_detection through the whole proxy, with real sockets: backends that greet with
 * their name, a dead port, and a clock the test moves by hand for ejection times.
 */
class LoadBalancingTest {

  private static final String TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

  private final List<ServerSocket> backends = new ArrayList<>();
  private final List<Socket> clients = new ArrayList<>();
  private final ManualClock clock = new ManualClock();
  private ProxyServer proxy;
  private int front;

  @AfterEach
  void stop() throws IOException {
    if (proxy != null) {
      proxy.stop();
    }
    for (Socket s : clients) {
      s.close();
    }
    for (ServerSocket b : backends) {
      b.close();
    }
  }

  @Test
  void leastRequestSendsNewConnectionsToTheEndpointWithFewerInFlight() throws Exception {
    int a = backend("A");
    int b = backend("B");
    start("lb_policy: LEAST_REQUEST", a, b);
    List<Socket> first = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      first.add(connect());
    }
    List<String> greetings = new ArrayList<>();
    for (Socket s : first) {
      greetings.add(greeting(s));
    }
    assertThat(greetings).as("two choices out of two: always the less loaded").containsOnly("A", "B")
        .filteredOn("A"::equals).hasSize(2);
    for (int i = 0; i < first.size(); i++) {
      if (greetings.get(i).equals("A")) {
        first.get(i).close();
      }
    }
    awaitStat("cluster.c.upstream_cx_total: 4");
    LoadBalancer balancer = proxy.config().clusters().get("c").balancer();
    InetSocketAddress endpointA = new InetSocketAddress(InetAddress.getLoopbackAddress(), a);
    Await.until(() -> balancer.inFlight(endpointA) == 0, "A's connections to end in the proxy", Duration.ofSeconds(20));
    assertThat(balancer.inFlight(new InetSocketAddress(InetAddress.getLoopbackAddress(), b))).isEqualTo(2);
    // A has none in flight, B two: both new connections go to A (round robin would split them)
    Socket third = connect();
    assertThat(greeting(third)).isEqualTo("A");
    Socket fourth = connect();
    assertThat(greeting(fourth)).isEqualTo("A");
  }

  @Test
  void consecutiveConnectFailuresEjectAnEndpointUntilItsEjectionTimeHasPassed() throws Exception {
    int live = backend("A");
    int dead = deadPort();
    start("""
        outlier_detection: { consecutive_5xx: 2, base_ejection_time: 30s, interval: 10s, max_ejection_percent: 50 }""", live, dead);

    // round robin: A, dead (1st failure), A, dead (2nd: ejected)
    for (int i = 0; i < 4; i++) {
      attempt();
    }
    assertThat(stat("cluster.c.upstream_cx_connect_fail")).isEqualTo(2);
    assertThat(stat("cluster.c.outlier_detection.ejections_enforced_total")).isEqualTo(1);
    assertThat(stat("cluster.c.outlier_detection.ejections_active")).isEqualTo(1);
    for (int i = 0; i < 6; i++) {
      assertThat(attempt()).as("the dead endpoint is ejected: every connection reaches A").isEqualTo("A");
    }
    assertThat(stat("cluster.c.upstream_cx_connect_fail")).isEqualTo(2);

    clock.advance(29_999);
    assertThat(attempt()).isEqualTo("A");
    assertThat(attempt()).isEqualTo("A");
    clock.advance(1);
    // re-admitted: round robin reaches the dead endpoint again within two connections
    attempt();
    attempt();
    assertThat(stat("cluster.c.upstream_cx_connect_fail")).isEqualTo(3);
    assertThat(stat("cluster.c.outlier_detection.ejections_active")).isZero();
  }

  @Test
  void maxEjectionPercentKeepsAllButOneEndpointInAndPanicUsesThemAll() throws Exception {
    int dead1 = deadPort();
    int dead2 = deadPort();
    // default max_ejection_percent (10 %) of two endpoints: one may be ejected all the same, never both
    start("outlier_detection: { consecutive_5xx: 1 }", dead1, dead2);
    for (int i = 0; i < 6; i++) {
      attempt();
    }
    assertThat(stat("cluster.c.upstream_cx_connect_fail")).isEqualTo(6);
    assertThat(stat("cluster.c.outlier_detection.ejections_enforced_total")).isEqualTo(1);
    assertThat(stat("cluster.c.upstream_cx_none_healthy")).as("half in is not under the panic threshold: never none").isZero();
  }

  private void start(String clusterOptions, int... ports) throws Exception {
    front = freePort();
    StringBuilder endpoints = new StringBuilder();
    for (int p : ports) {
      endpoints.append("          - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ").append(p).append(" } } }\n");
    }
    String yaml = """
        static_resources:
          listeners:
          - name: front
            address: { socket_address: { address: 127.0.0.1, port_value: %d } }
            filter_chains:
            - filters: [ { name: tcp, typed_config: { "@type": "%s", stat_prefix: front, cluster: c } } ]
          clusters:
          - name: c
            connect_timeout: 2s
            %s
            load_assignment:
              endpoints:
              - lb_endpoints:
        %s""".formatted(front, TCP, clusterOptions, endpoints);
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0),
        RuntimeConfigBuilder.build(BootstrapLoader.parse(yaml, false), clock));
    proxy.start();
  }

  /** One connection through the proxy: the backend's name, or null when the proxy closed it (connect failure). */
  private String attempt() throws Exception {
    try (Socket s = connect()) {
      return greeting(s);
    } finally {
      // the access log and the stats are written once both sides have closed
      Thread.sleep(20);
    }
  }

  private Socket connect() throws IOException {
    Socket s = new Socket();
    clients.add(s);
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), front), 5000);
    s.setSoTimeout(10_000);
    return s;
  }

  private static String greeting(Socket s) throws IOException {
    return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
  }

  /** A server that writes its name on each connection and holds it open until the client closes. */
  private int backend(String name) throws IOException {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    backends.add(server);
    Thread t = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          Thread c = new Thread(() -> {
            try (s) {
              s.getOutputStream().write((name + "\n").getBytes(StandardCharsets.UTF_8));
              s.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            } catch (IOException e) {
              // closed by the proxy
            }
          });
          c.setDaemon(true);
          c.start();
        } catch (IOException e) {
          // closed at the end of the test
        }
      }
    }, "backend-" + name);
    t.setDaemon(true);
    t.start();
    return server.getLocalPort();
  }

  private long stat(String name) {
    for (String line : proxy.stats().text().split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Long.parseLong(line.substring(name.length() + 2));
      }
    }
    throw new AssertionError("no stat " + name + " in\n" + proxy.stats().text());
  }

  private void awaitStat(String line) throws Exception {
    Await.until(() -> proxy.stats().text().contains(line + "\n"), line, Duration.ofSeconds(20));
  }

  private static int deadPort() throws IOException {
    return freePort();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** A clock that moves only when the test says. */
  private static final class ManualClock extends Clock {
    private final AtomicLong millis = new AtomicLong(Instant.parse("2026-11-26T12:00:00Z").toEpochMilli());

    void advance(long ms) {
      millis.addAndGet(ms);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.get());
    }

    @Override
    public long millis() {
      return millis.get();
    }
  }
}
