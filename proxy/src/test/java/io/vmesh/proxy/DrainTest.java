package io.vmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Draining with real sockets: SIGTERM to a real {@code vmesh-proxy run} process (health fails, new
 * connections are refused, a relay in flight goes on until its client ends it, exit 0), the drain
 * deadline closing what is left, and admin {@code /drain_listeners?inboundonly}.
 */
class DrainTest {

  private static final String TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Socket> clients = new ArrayList<>();
  private ServerSocket echo;
  private ProxyServer proxy;
  private Process process;

  @TempDir
  Path dir;

  @BeforeEach
  void startEcho() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::acceptEcho, "line-echo");
    t.setDaemon(true);
    t.start();
  }

  @AfterEach
  void stop() throws IOException {
    if (process != null) {
      process.destroyForcibly();
    }
    if (proxy != null) {
      proxy.stop();
    }
    for (Socket s : clients) {
      s.close();
    }
    echo.close();
  }

  @Test
  void sigtermFailsHealthRefusesNewConnectionsLetsTheRelayInFlightFinishAndExitsZero() throws Exception {
    int front = freePort();
    int admin = freePort();
    int health = freePort();
    Path bootstrap = Files.writeString(dir.resolve("bootstrap.yaml"), bootstrap(admin, front, -1));
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), ProxyMain.class.getName(), "run", "--bootstrap", bootstrap.toString(),
        "--health-address", "127.0.0.1", "--health-port", Integer.toString(health), "--prometheus-port", "0",
        "--concurrency", "1", "--drain-seconds", "60");
    process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("proxy.log").toFile()).start();
    String healthz = "http://127.0.0.1:" + health + "/healthz/ready";
    Await.until(() -> get(healthz).equals("200 LIVE\n"), "the proxy to be ready", Duration.ofSeconds(30));

    Socket inFlight = connect(front);
    assertThat(exchange(inFlight, "before")).isEqualTo("before");

    long signalled = System.nanoTime();
    process.destroy(); // SIGTERM
    Await.until(() -> get(healthz).equals("503 DRAINING\n"), "health to fail", Duration.ofSeconds(30));
    Await.until(() -> refused(front), "new connections to be refused", Duration.ofSeconds(30));
    assertThat(exchange(inFlight, "during the drain")).isEqualTo("during the drain");
    assertThat(process.isAlive()).as("the proxy waits for the connection in flight").isTrue();

    inFlight.close();
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("exit once the last connection is closed").isTrue();
    assertThat(process.exitValue()).isZero();
    assertThat(System.nanoTime() - signalled).as("well before the 60 s drain deadline")
        .isLessThan(TimeUnit.SECONDS.toNanos(45));
    String log = Files.readString(dir.resolve("proxy.log"));
    assertThat(log).contains("draining: listeners stop accepting")
        .containsPattern("\"- - -\" 0 - - - \"-\" 24 24 \\d+ - .* echo .* front -");
  }

  @Test
  void connectionsStillOpenAtTheDeadlineAreClosed() throws Exception {
    int front = freePort();
    proxy = start(bootstrap(freePort(), front, -1), 500);
    Socket inFlight = connect(front);
    assertThat(exchange(inFlight, "hello")).isEqualTo("hello");

    Thread drain = new Thread(proxy::drainAndStop, "drain");
    drain.start();
    drain.join(TimeUnit.SECONDS.toMillis(20));
    assertThat(drain.isAlive()).as("drainAndStop returns after the deadline").isFalse();
    assertThat(readOrEof(inFlight)).as("the proxy closed the connection").isNull();
  }

  @Test
  void drainListenersInboundOnlyStopsTheInboundListenerAndKeepsRunning() throws Exception {
    int inbound = freePort();
    int outbound = freePort();
    int admin = freePort();
    proxy = start(bootstrap(admin, inbound, outbound), 60_000);
    String base = "http://127.0.0.1:" + admin;
    Socket inFlight = connect(inbound);
    assertThat(exchange(inFlight, "in")).isEqualTo("in");

    assertThat(get(base + "/drain_listeners")).startsWith("405 ");
    assertThat(post(base + "/drain_listeners?inboundonly")).isEqualTo("200 OK\n");
    Await.until(() -> refused(inbound), "the inbound listener to stop accepting", Duration.ofSeconds(30));
    assertThat(get(base + "/ready")).isEqualTo("503 DRAINING\n");
    try (Socket out = connect(outbound)) {
      assertThat(exchange(out, "out")).isEqualTo("out");
    }
    assertThat(exchange(inFlight, "still in")).isEqualTo("still in");
    assertThat(get(base + "/stats")).contains("server.state: 1\n");
  }

  private ProxyServer start(String yaml, long drainMillis) throws Exception {
    RuntimeConfig config = RuntimeConfigBuilder.build(BootstrapLoader.parse(yaml, false), Clock.systemUTC());
    ProxyServer p = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0, "127.0.0.1", 0, drainMillis), config);
    p.start();
    return p;
  }

  /** Listener "front" (INBOUND) on {@code port}, and listener "back" (OUTBOUND) on {@code second} unless it is -1, both to the echo. */
  private String bootstrap(int admin, int port, int second) {
    String listener = """
          - name: %s
            address: { socket_address: { address: 127.0.0.1, port_value: %d } }
            traffic_direction: %s
            filter_chains:
            - filters: [ { name: tcp, typed_config: { "@type": "%s", stat_prefix: echo, cluster: echo } } ]
        """;
    return """
        admin: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
        static_resources:
          listeners:
        %s%s
          clusters:
          - name: echo
            load_assignment:
              endpoints:
              - lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ]
        """.formatted(admin, listener.formatted("front", port, "INBOUND", TCP),
        second < 0 ? "" : listener.formatted("back", second, "OUTBOUND", TCP), echo.getLocalPort());
  }

  private Socket connect(int port) throws IOException {
    Socket s = new Socket();
    clients.add(s);
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
    s.setSoTimeout(10_000);
    return s;
  }

  private static String exchange(Socket s, String line) throws IOException {
    s.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
    return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
  }

  /** The next line, or null at EOF or when the connection was reset. */
  private static String readOrEof(Socket s) {
    try {
      return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
    } catch (IOException e) {
      return null;
    }
  }

  private static boolean refused(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Each echo connection gets its own thread, so several stay open at once; lines come back as they are sent. */
  private void acceptEcho() {
    while (!echo.isClosed()) {
      try {
        Socket s = echo.accept();
        Thread t = new Thread(() -> {
          try (s; BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
               PrintWriter out = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8)) {
            for (String line; (line = in.readLine()) != null; ) {
              out.println(line);
            }
          } catch (IOException e) {
            // the proxy closed it
          }
        }, "line-echo-connection");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        // closed at the end of the test
      }
    }
  }

  private String get(String url) {
    try {
      HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString());
      return res.statusCode() + " " + res.body();
    } catch (IOException e) {
      return "unreachable: " + e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  private String post(String url) throws Exception {
    HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    return res.statusCode() + " " + res.body();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
