package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The bytes of an HTTP/1.1 response head as the client gets it from an HTTP/1.1 upstream: the upstream's
 * status line and headers in their order and case, hop-by-hop headers (and those its {@code Connection}
 * names) taken out, {@code x-envoy-upstream-service-time} last (replacing one the upstream sent), the
 * version HTTP/1.1 whatever the upstream spoke.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResponseHeadTest {

  private RawUpstreamProxy proxy;

  @BeforeAll
  void start() throws Exception {
    proxy = new RawUpstreamProxy(this::serve);
  }

  @AfterAll
  void stop() throws IOException {
    if (proxy != null) {
      proxy.close();
    }
  }

  @Test
  void hopByHopHeadersAreTakenOutAndTheRestKeepTheirOrderAndCase() throws Exception {
    try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.front())) {
      for (int i = 0; i < 3; i++) {
        client.getOutputStream().write("GET /fixed HTTP/1.1\r\nHost: any\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        String head = RawUpstreamProxy.head(client.getInputStream());
        assertThat(head.replaceFirst("x-envoy-upstream-service-time: \\d+\r\n", "x-envoy-upstream-service-time: N\r\n"))
            .isEqualTo("HTTP/1.1 200 Fine\r\nServer: raw\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nX-Last: 1\r\n"
                + "x-envoy-upstream-service-time: N\r\n\r\n");
        assertThat(new String(client.getInputStream().readNBytes(2), StandardCharsets.US_ASCII)).isEqualTo("ok");
      }
    }
  }

  @Test
  void aChunkedResponseKeepsItsReasonAndIsRechunked() throws Exception {
    try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.front())) {
      client.getOutputStream().write("GET /chunked HTTP/1.1\r\nHost: any\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      InputStream in = client.getInputStream();
      String head = RawUpstreamProxy.head(in);
      assertThat(head.replaceFirst("x-envoy-upstream-service-time: \\d+\r\n", "x-envoy-upstream-service-time: N\r\n"))
          .isEqualTo("HTTP/1.1 203 Whatever You Say\r\nX-First: a\r\nx-envoy-upstream-service-time: N\r\n"
              + "transfer-encoding: chunked\r\n\r\n");
      assertThat(new String(in.readNBytes(12), StandardCharsets.US_ASCII)).isEqualTo("2\r\nok\r\n0\r\n\r\n");
    }
  }

  private void serve(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      while (true) {
        String head = RawUpstreamProxy.head(in);
        if (head == null) {
          return;
        }
        String response = head.startsWith("GET /fixed ")
            ? "HTTP/1.1 200 Fine\r\nServer: raw\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\n"
                + "X-Envoy-Upstream-Service-Time: 999\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nProxy-Connection: x\r\n"
                + "Trailer: x-t\r\nX-Last: 1\r\n\r\nok"
            : "HTTP/1.1 203 Whatever You Say\r\nX-First: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\n\r\n";
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(response.getBytes(StandardCharsets.ISO_8859_1));
        out.write(b.toByteArray());
        out.flush();
        if (response.contains("Connection: close")) {
          return;
        }
      }
    } catch (IOException e) {
      // the proxy closed the connection, or the test ended
    }
  }
}
