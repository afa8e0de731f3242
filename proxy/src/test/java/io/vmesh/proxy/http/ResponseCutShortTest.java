package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A response cut short after its headers went downstream is blamed on the side that cut it, as Envoy
 * does: a client that reads the status line and hangs up (what a kubelet probe may do) is {@code DC}
 * with {@code downstream_remote_disconnect}; an origin that closes mid-body is {@code UC} with
 * {@code upstream_reset_after_response_started}. Both keep the status that was sent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResponseCutShortTest {

  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  private static final String FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";

  private final ExecutorService executor = Executors.newCachedThreadPool();
  private HttpServer upstream;
  private ServerSocket cutter;
  private ProxyServer proxy;
  private Path log;
  private int port;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    upstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    upstream.setExecutor(executor);
    upstream.createContext("/", exchange -> {
      String path = exchange.getRequestURI().getPath();
      try (OutputStream out = exchange.getResponseBody()) {
        // a body far larger than socket buffers, so a client that stops reading leaves it unsent
        exchange.sendResponseHeaders(200, 64L << 20);
        byte[] chunk = new byte[64 << 10];
        for (int i = 0; i < 1024; i++) {
          out.write(chunk);
        }
      } catch (IOException e) {
        // the proxy stopped reading
      }
    });
    upstream.start();
    // an origin that promises 1 000 bytes, sends 10 and closes
    cutter = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    executor.submit(() -> {
      while (!cutter.isClosed()) {
        try (Socket c = cutter.accept()) {
          InputStream in = c.getInputStream();
          int matched = 0;
          while (matched < 4) {
            int b = in.read();
            if (b < 0) {
              break;
            }
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
          }
          c.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789".getBytes(StandardCharsets.US_ASCII));
          c.getOutputStream().flush();
          Thread.sleep(200);
        } catch (IOException | InterruptedException e) {
          return null;
        }
      }
      return null;
    });
    log = dir.resolve("access.log");
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0), RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: http
            address: { socket_address: { address: 127.0.0.1, port_value: %1$d } }
            filter_chains:
            - filters:
              - name: hcm
                typed_config:
                  "@type": %2$s
                  stat_prefix: http
                  route_config: { virtual_hosts: [ { name: all, domains: [ "*" ], routes: [ { match: { path: /cut }, route: { cluster: cut, timeout: 0s } }, { match: { prefix: / }, route: { cluster: up, timeout: 0s } } ] } ] }
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": %3$s
                      path: %4$s
                      log_format: { text_format_source: { inline_string: "%%REQ(:PATH)%% %%RESPONSE_CODE%% %%RESPONSE_FLAGS%% %%RESPONSE_CODE_DETAILS%%\\n" } }
          clusters:
          - { name: up, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %5$d } } } } ] } ] } }
          - { name: cut, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %6$d } } } } ] } ] } }
        """.formatted(port, HCM, FILE, log, upstream.getAddress().getPort(), cutter.getLocalPort()), false), Clock.systemUTC()));
    proxy.start();
  }

  @AfterAll
  void stop() throws Exception {
    if (proxy != null) {
      proxy.stop();
    }
    upstream.stop(0);
    cutter.close();
    executor.shutdownNow();
  }

  @Test
  void aClientThatHangsUpMidResponseIsDownstreamDisconnect() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] head = new InputStreamReader12(s.getInputStream()).read();
      assertThat(new String(head, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 200");
    }
    assertThat(line("/big")).isEqualTo("/big 200 DC downstream_remote_disconnect");
  }

  @Test
  void anOriginThatClosesMidBodyIsUpstreamResetAfterTheResponseStarted() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write("GET /cut HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      // the proxy closes the client's connection: nothing else tells an HTTP/1.1 client the body is short
      assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 200");
    }
    assertThat(line("/cut")).isEqualTo("/cut 200 UC upstream_reset_after_response_started{connection_termination}");
  }

  private String line(String path) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (Files.exists(log)) {
        List<String> lines = Files.readAllLines(log);
        for (String l : lines) {
          if (l.startsWith(path + " ")) {
            return l;
          }
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no access log line for " + path + " in " + (Files.exists(log) ? Files.readAllLines(log) : "(no file)"));
  }

  /** Reads exactly the 12 bytes of a status line's start, like a probe that looks at the status only. */
  private record InputStreamReader12(InputStream in) {
    byte[] read() throws IOException {
      byte[] b = new byte[12];
      int n = 0;
      while (n < b.length) {
        int r = in.read(b, n, b.length - n);
        if (r < 0) {
          break;
        }
        n += r;
      }
      return java.util.Arrays.copyOf(b, n);
    }
  }
}
