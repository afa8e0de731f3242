package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vmesh.proxy.Await;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/1.1 Upgrade through {@code http_connection_manager}: the JDK's WebSocket client against a Vert.x WebSocket
 * server through the proxy (messages and closes both ways, the tunnel outliving the route timeout and a listener
 * drain, the stream idle timeout), Envoy's 403 where the upgrade is not enabled, other answers forwarded as they are,
 * and a raw upgrade whose bytes and FINs cross the tunnel — with the access log line and stats each leaves.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class UpgradeTest {

  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  private static final String FILE_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";

  @TempDir
  Path dir;
  private Vertx vertx;
  private HttpServer wsServer;
  private final BlockingQueue<String> serverEvents = new LinkedBlockingQueue<>();
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private ServerSocket raw;
  private final List<String> rawHeads = new CopyOnWriteArrayList<>();
  private ProxyServer proxy;
  private Path log;
  private int upgrading;
  private int plain;
  private int idle;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    // messages far larger than socket buffers, so the tunnel's backpressure is exercised
    HttpServerOptions options = new HttpServerOptions().setMaxWebSocketFrameSize(8 << 20).setMaxWebSocketMessageSize(8 << 20);
    wsServer = vertx.createHttpServer(options).webSocketHandler(ws -> {
      serverEvents.add("open " + ws.path());
      ws.writeTextMessage("hello from server");
      ws.textMessageHandler(text -> {
        if (text.equals("close-please")) {
          ws.close((short) 1000, "server says bye");
        } else {
          ws.writeTextMessage("echo:" + text);
        }
      });
      ws.closeHandler(v -> serverEvents.add("closed " + ws.closeStatusCode()));
    }).listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    raw = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    executor.submit(() -> {
      while (!raw.isClosed()) {
        Socket s = raw.accept();
        executor.submit(() -> serveRaw(s));
      }
      return null;
    });
    upgrading = freePort();
    plain = freePort();
    idle = freePort();
    log = dir.resolve("access.log");
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0, "127.0.0.1", 0, 30_000),
        RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: upgrading
            address: { socket_address: { address: 127.0.0.1, port_value: %1$d } }
            filter_chains:
            - filters:
              - name: hcm
                typed_config:
                  "@type": %4$s
                  stat_prefix: upgrading
                  drain_timeout: 0.2s
                  upgrade_configs: [ { upgrade_type: websocket }, { upgrade_type: Test } ]
                  access_log: &log [ { name: file, typed_config: { "@type": %5$s, path: %6$s, log_format: { text_format_source: {
                    inline_string: "%%REQ(:PATH)%% %%RESPONSE_CODE%% %%RESPONSE_FLAGS%% %%RESPONSE_CODE_DETAILS%% %%BYTES_RECEIVED%% %%BYTES_SENT%%\\n" } } } } ]
                  route_config:
                    virtual_hosts:
                    - name: all
                      domains: [ "*" ]
                      routes:
                      - { match: { prefix: /ws/short }, route: { cluster: ws, timeout: 0.3s } }
                      - { match: { prefix: /ws/off }, route: { cluster: ws, upgrade_configs: [ { upgrade_type: WebSocket, enabled: false } ] } }
                      - { match: { prefix: /ws }, route: { cluster: ws } }
                      - { match: { prefix: /raw }, route: { cluster: raw, retry_policy: { retry_on: 5xx, num_retries: 2 } } }
                      - { match: { prefix: /h2 }, route: { cluster: ws-h2 } }
          - name: plain
            address: { socket_address: { address: 127.0.0.1, port_value: %2$d } }
            filter_chains:
            - filters:
              - name: hcm
                typed_config:
                  "@type": %4$s
                  stat_prefix: plain
                  access_log: *log
                  route_config:
                    virtual_hosts:
                    - name: all
                      domains: [ "*" ]
                      routes:
                      - { match: { prefix: /ws/on }, route: { cluster: ws, upgrade_configs: [ { upgrade_type: websocket } ] } }
                      - { match: { prefix: / }, route: { cluster: ws } }
          - name: idle
            address: { socket_address: { address: 127.0.0.1, port_value: %3$d } }
            filter_chains:
            - filters:
              - name: hcm
                typed_config:
                  "@type": %4$s
                  stat_prefix: idle
                  stream_idle_timeout: 0.6s
                  upgrade_configs: [ { upgrade_type: websocket } ]
                  access_log: *log
                  route_config: { virtual_hosts: [ { name: all, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: ws } } ] } ] }
          clusters:
          - { name: ws, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %7$d } } } } ] } ] } }
          - name: ws-h2
            load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %7$d } } } } ] } ] }
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                { "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions, explicit_http_config: { http2_protocol_options: {} } }
          - { name: raw, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %8$d } } } } ] } ] } }
        """.formatted(upgrading, plain, idle, HCM, FILE_LOG, log, wsServer.actualPort(), raw.getLocalPort()), false), Clock.systemUTC()));
    proxy.start();
  }

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.stop();
    }
    raw.close();
    executor.shutdownNow();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void webSocketMessagesCrossBothWaysAndTheClientsCloseReachesTheServer() throws Exception {
    Client client = Client.open(upgrading, "/ws/chat");
    assertThat(client.next()).isEqualTo("hello from server");
    client.ws.sendText("ping", true).get(10, TimeUnit.SECONDS);
    assertThat(client.next()).isEqualTo("echo:ping");
    // larger than any socket buffer: the tunnel's backpressure carries it whole
    String big = "x".repeat(3 * 1024 * 1024);
    client.ws.sendText(big, true).get(30, TimeUnit.SECONDS);
    assertThat(client.next()).isEqualTo("echo:" + big);
    assertThat(serverEvents.poll(10, TimeUnit.SECONDS)).isEqualTo("open /ws/chat");
    assertThat(stat("http.upgrading.downstream_cx_upgrades_active")).isEqualTo(1);

    client.ws.sendClose(1000, "client says bye").get(10, TimeUnit.SECONDS);
    assertThat(serverEvents.poll(10, TimeUnit.SECONDS)).isEqualTo("closed 1000");
    assertThat(client.closed.get(10, TimeUnit.SECONDS)).isEqualTo(1000);

    String line = logLine("/ws/chat ");
    String[] f = line.split(" ");
    assertThat(f[1]).as(line).isEqualTo("101");
    assertThat(Long.parseLong(f[4])).as("bytes from the client: " + line).isGreaterThan(3 * 1024 * 1024);
    assertThat(Long.parseLong(f[5])).as("bytes to the client: " + line).isGreaterThan(3 * 1024 * 1024);
    Await.until(() -> stat("http.upgrading.downstream_cx_upgrades_active") == 0, "the tunnel counted as ended", Duration.ofSeconds(10));
    assertThat(stat("http.upgrading.downstream_cx_upgrades_total")).isEqualTo(1);
    assertThat(stat("http.upgrading.downstream_rq_1xx")).isEqualTo(1);
    assertThat(stat("cluster.ws.upstream_cx_total")).isEqualTo(1);
  }

  @Test
  void theServersCloseReachesTheClientAndTheTunnelOutlivesTheRouteTimeout() throws Exception {
    Client client = Client.open(upgrading, "/ws/short");
    assertThat(client.next()).isEqualTo("hello from server");
    // the route's 0.3 s timeout covers the wait for the 101, not the tunnel
    Thread.sleep(1200);
    client.ws.sendText("still there?", true).get(10, TimeUnit.SECONDS);
    assertThat(client.next()).isEqualTo("echo:still there?");
    client.ws.sendText("close-please", true).get(10, TimeUnit.SECONDS);
    assertThat(client.closed.get(10, TimeUnit.SECONDS)).isEqualTo(1000);
    assertThat(logLine("/ws/short ")).startsWith("/ws/short 101 ");
    assertThat(stat("cluster.ws.upstream_rq_timeout")).isZero();
  }

  @Test
  void anUpgradeNeitherTheRouteNorTheConnectionManagerEnablesIsEnvoys403AndTheRouteCanEnableOne() throws Exception {
    assertThat(handshakeStatus(plain, "/ws")).isEqualTo(403);
    assertThat(handshakeStatus(upgrading, "/ws/off")).as("disabled by the route").isEqualTo(403);
    assertThat(logLine("/ws ")).isEqualTo("/ws 403 - upgrade_failed 0 0");
    assertThat(logLine("/ws/off ")).isEqualTo("/ws/off 403 - upgrade_failed 0 0");
    assertThat(stat("http.plain.downstream_rq_ws_on_non_ws_route")).isEqualTo(1);
    assertThat(stat("http.upgrading.downstream_rq_ws_on_non_ws_route")).isEqualTo(1);

    // the connection ends with the refusal: what followed the request was not HTTP
    try (Socket s = new Socket("127.0.0.1", plain)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(upgradeRequest("/ws", "websocket").getBytes(StandardCharsets.ISO_8859_1));
      String head = RawUpstreamProxy.head(s.getInputStream());
      assertThat(head).startsWith("HTTP/1.1 403").containsIgnoringCase("connection: close");
      assertThat(s.getInputStream().readAllBytes()).isEmpty();
    }

    // an HTTP/2 cluster would need extended CONNECT, which the proxy cannot send: refused as an upgrade
    assertThat(handshakeStatus(upgrading, "/h2")).isEqualTo(403);
    assertThat(logLine("/h2 ")).isEqualTo("/h2 403 - upgrade_failed 0 0");
    assertThat(stat("cluster.ws-h2.upstream_cx_total")).isZero();

    Client enabledByRoute = Client.open(plain, "/ws/on");
    assertThat(enabledByRoute.next()).isEqualTo("hello from server");
    enabledByRoute.ws.sendClose(1000, "").get(10, TimeUnit.SECONDS);
    assertThat(enabledByRoute.closed.get(10, TimeUnit.SECONDS)).isEqualTo(1000);
  }

  @Test
  void anAnswerOtherThan101IsForwardedAsItIsAndEndsTheConnection() throws Exception {
    for (String status : List.of("426", "200")) {
      try (Socket s = new Socket("127.0.0.1", upgrading)) {
        s.setSoTimeout(10_000);
        s.getOutputStream().write(upgradeRequest("/raw/" + status, "test").getBytes(StandardCharsets.ISO_8859_1));
        InputStream in = s.getInputStream();
        String head = RawUpstreamProxy.head(in);
        assertThat(head).startsWith("HTTP/1.1 " + status).containsIgnoringCase("content-length: 4").containsIgnoringCase("connection: close");
        assertThat(new String(in.readNBytes(4), StandardCharsets.UTF_8)).isEqualTo("n" + status);
        assertThat(in.read()).as("closed after it").isEqualTo(-1);
      }
      assertThat(logLine("/raw/" + status + " ")).startsWith("/raw/" + status + " " + status + " - via_upstream");
    }
    assertThat(rawHeads).allSatisfy(h -> assertThat(h).containsIgnoringCase("connection: upgrade").containsIgnoringCase("upgrade: test"));
  }

  @Test
  void aRawUpgradeCarriesEarlyBytesBothWaysAndHalfClosesAcross() throws Exception {
    String early = "GET /not-a-request HTTP/1.1\r\n\r\n";
    try (Socket s = new Socket("127.0.0.1", upgrading)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      // bytes right behind the head, in the same write: the tunnel's, not a next request
      out.write((upgradeRequest("/raw/101", "Test") + early).getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = s.getInputStream();
      String head = RawUpstreamProxy.head(in);
      assertThat(head).startsWith("HTTP/1.1 101").containsIgnoringCase("connection: upgrade").containsIgnoringCase("upgrade: test");
      out.write("and more".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      s.shutdownOutput();
      // the server answers once it has read the client's FIN, then closes
      assertThat(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1)).isEqualTo("got:" + early + "and more");
    }
    assertThat(rawHeads.get(0)).startsWith("GET /raw/101 HTTP/1.1").containsIgnoringCase("connection: upgrade");
    // the client shut its side first: Envoy's DC
    int received = (early + "and more").length();
    assertThat(logLine("/raw/101 ")).isEqualTo("/raw/101 101 DC downstream_remote_disconnect " + received + " " + ("got:".length() + received));
  }

  @Test
  void aTunnelInFlightWhenTheListenerDrainsGoesOnLikeATcpConnection() throws Exception {
    Client client = Client.open(upgrading, "/ws/drain");
    assertThat(client.next()).isEqualTo("hello from server");
    // completes when the connections are gone: not awaited
    proxy.drainListeners(false);
    // well past drain_timeout (0.2 s), which closes HTTP/1.1 connections between requests
    Thread.sleep(1000);
    client.ws.sendText("after the drain", true).get(10, TimeUnit.SECONDS);
    assertThat(client.next()).isEqualTo("echo:after the drain");
    assertThat(catchThrowable(() -> new Socket("127.0.0.1", upgrading).close())).as("new connections are refused").isInstanceOf(IOException.class);
    client.ws.sendClose(1000, "").get(10, TimeUnit.SECONDS);
    assertThat(client.closed.get(10, TimeUnit.SECONDS)).isEqualTo(1000);
  }

  @Test
  void aTunnelWithNoByteForStreamIdleTimeoutIsClosed() throws Exception {
    Client client = Client.open(idle, "/quiet");
    assertThat(client.next()).isEqualTo("hello from server");
    long start = System.nanoTime();
    // closed without a close frame: the JDK client reports 1006
    assertThat(client.closed.get(20, TimeUnit.SECONDS)).isEqualTo(1006);
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(500);
    assertThat(logLine("/quiet ")).startsWith("/quiet 101 SI stream_idle_timeout ");
    assertThat(stat("http.idle.downstream_rq_idle_timeout")).isEqualTo(1);
  }

  /** The raw upstream: answers by path — 426 or 200 with a body, or 101 then "got:" and all it read until the client's FIN. */
  private void serveRaw(Socket s) {
    try (s) {
      InputStream in = s.getInputStream();
      String head = RawUpstreamProxy.head(in);
      if (head == null) {
        return;
      }
      rawHeads.add(head);
      OutputStream out = s.getOutputStream();
      String path = head.split(" ")[1];
      if (path.equals("/raw/101")) {
        out.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        byte[] got = in.readAllBytes();
        out.write(("got:" + new String(got, StandardCharsets.ISO_8859_1)).getBytes(StandardCharsets.ISO_8859_1));
      } else {
        String status = path.substring("/raw/".length());
        out.write(("HTTP/1.1 " + status + " Whatever\r\nContent-Length: 4\r\n\r\nn" + status).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        in.readAllBytes();
      }
    } catch (IOException e) {
      // the proxy closed it
    }
  }

  private static String upgradeRequest(String path, String type) {
    return "GET " + path + " HTTP/1.1\r\nHost: example\r\nConnection: Upgrade\r\nUpgrade: " + type + "\r\n\r\n";
  }

  private static int handshakeStatus(int port, String path) {
    Throwable failed = catchThrowable(() -> Client.open(port, path));
    assertThat(failed).isNotNull();
    Throwable cause = failed;
    while (cause != null && !(cause instanceof WebSocketHandshakeException)) {
      cause = cause.getCause();
    }
    assertThat(cause).as("a failed handshake: " + failed).isInstanceOf(WebSocketHandshakeException.class);
    return ((WebSocketHandshakeException) cause).getResponse().statusCode();
  }

  /** The access-log line that starts with {@code prefix} (lines are flushed within about a second). */
  private String logLine(String prefix) throws Exception {
    String[] found = new String[1];
    Await.until(() -> {
      if (!Files.exists(log)) {
        return false;
      }
      for (String l : Files.readAllLines(log)) {
        if (l.startsWith(prefix)) {
          found[0] = l;
          return true;
        }
      }
      return false;
    }, "an access-log line for " + prefix, Duration.ofSeconds(15));
    return found[0];
  }

  private long stat(String name) {
    return RawUpstreamProxy.stat(proxy, name);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** The JDK's WebSocket client, its text messages (whole) and its close code queued for the test. */
  private static final class Client implements WebSocket.Listener {
    final BlockingQueue<String> texts = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final StringBuilder partial = new StringBuilder();
    WebSocket ws;

    static Client open(int port, String path) throws Exception {
      Client c = new Client();
      c.ws = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
          .buildAsync(URI.create("ws://127.0.0.1:" + port + path), c).get(20, TimeUnit.SECONDS);
      return c;
    }

    String next() throws InterruptedException {
      String t = texts.poll(20, TimeUnit.SECONDS);
      assertThat(t).as("a message within 20 s").isNotNull();
      return t;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      partial.append(data);
      if (last) {
        texts.add(partial.toString());
        partial.setLength(0);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      closed.complete(statusCode);
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      closed.complete(1006);
    }
  }
}
