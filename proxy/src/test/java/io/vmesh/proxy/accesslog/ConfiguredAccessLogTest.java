package io.vmesh.proxy.accesslog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.ConfigException;
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
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Envoy's access_log on the HTTP connection manager, tcp_proxy and the listener: StdoutAccessLog and
 * FileAccessLog with text and JSON formats, written by a running proxy on loopback; a bad format or path
 * refused at load with its field path.
 */
class ConfiguredAccessLogTest {

  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  private static final String TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
  private static final String FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";
  private static final String STDOUT = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog";

  @TempDir
  Path dir;

  @Test
  void filtersAndListenersWriteTheirConfiguredLines() throws Exception {
    HttpServer origin = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
    origin.createContext("/", exchange -> {
      byte[] body = "hi".getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(201, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    origin.start();
    ServerSocket echo = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
    Thread echoing = new Thread(() -> {
      try (Socket s = echo.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
        in.transferTo(out);
      } catch (IOException e) {
        // closed at the end
      }
    });
    echoing.setDaemon(true);
    echoing.start();
    int http = freePort();
    int tcp = freePort();
    int none = freePort();
    Path httpLog = dir.resolve("http.log");
    Path tcpLog = dir.resolve("tcp.log");
    Path listenerLog = dir.resolve("listener.log");
    ProxyServer proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0), RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: http
            address: { socket_address: { address: 127.0.0.1, port_value: %1$d } }
            filter_chains:
            - filters:
              - name: hcm
                typed_config:
                  "@type": %4$s
                  stat_prefix: http
                  route_config: { virtual_hosts: [ { name: all, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: web } } ] } ] }
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": %6$s
                      path: %7$s
                      log_format:
                        json_format:
                          method: "%%REQ(:METHOD)%%"
                          path: "%%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%%"
                          code: "%%RESPONSE_CODE%%"
                          upstream: { cluster: "%%UPSTREAM_CLUSTER%%", host: "%%UPSTREAM_HOST%%" }
                          flags: "%%RESPONSE_FLAGS%%"
                          sampled: true
                  - { name: envoy.access_loggers.stdout, typed_config: { "@type": %10$s } }
          - name: tcp
            address: { socket_address: { address: 127.0.0.1, port_value: %2$d } }
            filter_chains:
            - filters:
              - name: tcp
                typed_config:
                  "@type": %5$s
                  stat_prefix: echo
                  cluster: echo
                  access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": %6$s
                      path: %8$s
                      log_format: { text_format_source: { inline_string: "%%UPSTREAM_CLUSTER%% %%UPSTREAM_HOST%% %%BYTES_RECEIVED%% %%BYTES_SENT%% %%RESPONSE_FLAGS%% %%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%%\\n" } }
          - name: none
            address: { socket_address: { address: 127.0.0.1, port_value: %3$d } }
            access_log:
            - name: envoy.access_loggers.file
              typed_config: { "@type": %6$s, path: %9$s, log_format: { text_format_source: { inline_string: "%%LISTENER_NAME%% %%RESPONSE_FLAGS%% %%RESPONSE_CODE_DETAILS%%" } } }
            filter_chains:
            - filter_chain_match: { destination_port: 1 }
              filters: [ { name: tcp, typed_config: { "@type": %5$s, stat_prefix: x, cluster: echo } } ]
          clusters:
          - { name: web, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %11$d } } } } ] } ] } }
          - { name: echo, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %12$d } } } } ] } ] } }
        """.formatted(http, tcp, none, HCM, TCP, FILE, httpLog, tcpLog, listenerLog, STDOUT, origin.getAddress().getPort(),
            echo.getLocalPort()), false), Clock.systemUTC()));
    proxy.start();
    try {
      HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http + "/a?b=1"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(res.statusCode()).isEqualTo(201);
      try (Socket s = new Socket("127.0.0.1", tcp)) {
        s.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
        s.shutdownOutput();
        assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("hello");
      }
      try (Socket s = new Socket("127.0.0.1", none)) {
        s.setSoTimeout(10_000);
        assertThat(s.getInputStream().read()).as("no chain for this port: closed").isEqualTo(-1);
      }

      JsonNode line = new ObjectMapper().readTree(await(httpLog).get(0));
      assertThat(line.toString()).isEqualTo("{\"method\":\"GET\",\"path\":\"/a?b=1\",\"code\":\"201\",\"upstream\":{\"cluster\":\"web\","
          + "\"host\":\"127.0.0.1:" + origin.getAddress().getPort() + "\"},\"flags\":\"-\",\"sampled\":true}");
      assertThat(await(tcpLog)).containsExactly("echo 127.0.0.1:" + echo.getLocalPort() + " 5 5 - 127.0.0.1");
      assertThat(await(listenerLog)).containsExactly("none NR filter_chain_not_found");
    } finally {
      proxy.stop();
      origin.stop(0);
      echo.close();
    }
  }

  @Test
  void aBadFormatOrPathIsRefusedWithItsFieldPath() {
    String at = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.access_log";
    assertThatThrownBy(() -> build("{ \"@type\": " + STDOUT + ", log_format: { text_format_source: { inline_string: \"%START_TIME% %NOPE%\" } } }"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
            .startsWith(at + "[0].typed_config.log_format.text_format_source.inline_string: command operator %NOPE% is not supported"));
    assertThatThrownBy(() -> build("{ \"@type\": " + FILE + ", path: " + dir.resolve("no/such/dir/x.log")
        + ", log_format: { json_format: { a: \"%REQ(:METHOD)%\", b: { c: \"%BAD(\" } } } }"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            at + "[0].typed_config.path: '" + dir.resolve("no/such/dir/x.log") + "' cannot be written (its directory must exist and be writable)",
            at + "[0].typed_config.log_format.json_format.b.c: unterminated command operator at offset 0: '%BAD('"));
    assertThatThrownBy(() -> build("{ \"@type\": " + STDOUT + ", log_format: { text_format_source: { filename: /etc/format } } }"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            at + "[0].typed_config.log_format.text_format_source: only inline_string is supported"));
    assertThatThrownBy(() -> build("{ \"@type\": " + STDOUT + " }, filter: { not_health_check_filter: {} }"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
            .startsWith(at + "[0].filter: field not supported by vmesh-proxy"));
  }

  private void build(String accessLog) throws Exception {
    RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: l
            address: { socket_address: { address: 127.0.0.1, port_value: 8080 } }
            filter_chains:
            - filters:
              - name: tcp
                typed_config: { "@type": %s, stat_prefix: x, cluster: c, access_log: [ { name: log, typed_config: %s } ] }
          clusters: [ { name: c } ]
        """.formatted(TCP, accessLog), false), Clock.systemUTC());
  }

  /** The file's lines once it has some (lines are written when a connection or request ends, just after the client sees it). */
  private static List<String> await(Path file) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(file) && Files.size(file) > 0) {
        Thread.sleep(100);
        return Files.readAllLines(file);
      }
      Thread.sleep(20);
    }
    throw new AssertionError("nothing written to " + file);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
