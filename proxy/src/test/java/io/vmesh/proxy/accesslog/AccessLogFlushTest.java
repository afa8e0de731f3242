package io.vmesh.proxy.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Access log lines are buffered: written out when the buffer fills, by the one-second timer with no
 * further traffic, and when the proxy stops — never lost, never a write per line.
 */
class AccessLogFlushTest {

  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  private static final String FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";

  @TempDir
  Path dir;

  /** Records what a sink writes out, chunk by chunk. */
  private static final class Chunks implements AccessLogSink.Target {
    final List<String> written = new ArrayList<>();

    @Override
    public synchronized void write(byte[] bytes, int length) {
      written.add(new String(bytes, 0, length, StandardCharsets.UTF_8));
    }

    synchronized List<String> written() {
      return List.copyOf(written);
    }
  }

  @Test
  void linesAreWrittenInChunksOfAboutTheBufferSize() {
    Chunks chunks = new Chunks();
    AccessLogSink sink = new AccessLogSink("test", chunks);
    String line = "x".repeat(999); // 1000 bytes with its newline
    int lines = 650;
    long start = System.nanoTime();
    for (int i = 0; i < lines; i++) {
      sink.accept(line);
    }
    long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
    List<String> written = chunks.written();
    // the timer may add a write per second elapsed; otherwise only a full buffer is written
    assertThat(written).as("chunks, not a write per line").hasSizeLessThanOrEqualTo(lines * 1000 / AccessLogSink.FLUSH_BYTES + 2 + (int) seconds);
    assertThat(written).allSatisfy(c -> assertThat(c.length()).isLessThanOrEqualTo(AccessLogSink.FLUSH_BYTES + 1000));
    int total = written.stream().mapToInt(String::length).sum();
    assertThat(total).as("at most one buffer's worth still held").isGreaterThan(lines * 1000 - AccessLogSink.FLUSH_BYTES);
    sink.flush();
    assertThat(String.join("", chunks.written())).isEqualTo((line + "\n").repeat(lines));
  }

  @Test
  void theTimerWritesALineWithoutFurtherTraffic() throws Exception {
    Chunks chunks = new Chunks();
    AccessLogSink sink = new AccessLogSink("test", chunks);
    sink.accept("only line");
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (chunks.written().isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(chunks.written()).containsExactly("only line\n");
  }

  @Test
  void aRunningProxyWritesItsLinesWithinTheIntervalAndAllOfThemAtStop() throws Exception {
    HttpServer origin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    origin.createContext("/", exchange -> {
      exchange.sendResponseHeaders(204, -1);
      exchange.close();
    });
    origin.start();
    int port = freePort();
    Path log = dir.resolve("access.log");
    ProxyServer proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0), RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: http
            address: { socket_address: { address: 127.0.0.1, port_value: %d } }
            filter_chains:
            - filters:
              - name: hcm
                typed_config:
                  "@type": %s
                  stat_prefix: http
                  route_config: { virtual_hosts: [ { name: all, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: web } } ] } ] }
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config: { "@type": %s, path: %s, log_format: { text_format_source: { inline_string: "%%REQ(:PATH)%% %%RESPONSE_CODE%%\\n" } } }
          clusters:
          - { name: web, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ] } ] } }
        """.formatted(port, HCM, FILE, log, origin.getAddress().getPort()), false), Clock.systemUTC()));
    proxy.start();
    HttpClient client = HttpClient.newHttpClient();
    List<String> expected = new ArrayList<>();
    try {
      assertThat(get(client, port, "/first")).isEqualTo(204);
      expected.add("/first 204");
      // no more traffic: the timer alone must write it (1 s, generous margin for a loaded machine)
      long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      while (!(Files.exists(log) && Files.readAllLines(log).equals(expected)) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(Files.readAllLines(log)).containsExactlyElementsOf(expected);

      for (int i = 0; i < 200; i++) {
        assertThat(get(client, port, "/r" + i)).isEqualTo(204);
        expected.add("/r" + i + " 204");
      }
    } finally {
      proxy.stop();
      origin.stop(0);
    }
    // read at once after stop, no polling: stopping must have written every buffered line
    assertThat(Files.readAllLines(log)).containsExactlyElementsOf(expected);
  }

  private static int get(HttpClient client, int port, String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
