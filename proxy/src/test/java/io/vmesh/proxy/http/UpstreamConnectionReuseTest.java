package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Pooled HTTP/1.1 upstream connections the server closes: one closed (FIN) or reset (RST) while idle
 * leaves the pool, so the next request — even one whose body streams and could not be sent twice —
 * goes over a new connection; and a request whose reused connection closes before any response byte
 * (the server's close crossing the request) is sent once more on a new connection, not answered 503.
 * The upstream is a plain socket server whose per-path behaviour makes each case happen for certain.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UpstreamConnectionReuseTest {

  private RawUpstreamProxy proxy;
  private int front;

  @BeforeAll
  void start() throws Exception {
    // no retry_policy: without the reuse rule a request on a stale connection would be a 503
    proxy = new RawUpstreamProxy(this::serve);
    front = proxy.front();
  }

  @AfterAll
  void stop() throws IOException {
    if (proxy != null) {
      proxy.close();
    }
  }

  @Test
  void anIdleConnectionTheServerClosedOrResetIsNotUsedAgain() throws Exception {
    for (String path : new String[] {"/fin-after", "/rst-after"}) {
      try (RawHttp c = new RawHttp(front)) {
        assertThat(c.send(RawHttp.request("GET", "x", path)).text()).isEqualTo(path);
        long before = proxy.stat("cluster.raw.upstream_cx_total");
        // the close reaches the proxy while the connection sits in the pool
        Thread.sleep(300);
        byte[] head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        RawHttp.Response r = c.send(concat(head, "hello".getBytes(StandardCharsets.ISO_8859_1)));
        assertThat(r.status()).as(path).isEqualTo(200);
        assertThat(r.text()).isEqualTo("/echo hello");
        assertThat(proxy.stat("cluster.raw.upstream_cx_total") - before).as(path).isEqualTo(1);
      }
    }
  }

  @Test
  void aRequestWhoseReusedConnectionClosesBeforeAnsweringGoesOnceMoreOnANewOne() throws Exception {
    long retries = proxy.stat("cluster.raw.upstream_rq_retry");
    try (RawHttp c = new RawHttp(front)) {
      assertThat(c.send(RawHttp.request("GET", "x", "/drop-next")).text()).isEqualTo("/drop-next");
      RawHttp.Response r = c.send(RawHttp.request("GET", "x", "/victim"));
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.text()).isEqualTo("/victim");
    }
    // Envoy does not count it as a retry either
    assertThat(proxy.stat("cluster.raw.upstream_rq_retry")).isEqualTo(retries);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] all = new byte[a.length + b.length];
    System.arraycopy(a, 0, all, 0, a.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  /**
   * Keep-alive HTTP/1.1, the path as the body (with the request body after it for /echo); after
   * /fin-after the connection is closed, after /rst-after reset, and after /drop-next the next request
   * on it is read and left unanswered, the connection closed.
   */
  private void serve(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      boolean dropNext = false;
      while (true) {
        String head = RawUpstreamProxy.head(in);
        if (head == null) {
          return;
        }
        if (dropNext) {
          return;
        }
        String path = head.split(" ")[1];
        String body = path;
        if (path.equals("/echo")) {
          body += " " + new String(in.readNBytes(5), StandardCharsets.ISO_8859_1);
        }
        out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        switch (path) {
          case "/fin-after" -> {
            return;
          }
          case "/rst-after" -> {
            s.setSoLinger(true, 0);
            return;
          }
          case "/drop-next" -> dropNext = true;
          default -> { }
        }
      }
    } catch (IOException e) {
      // the proxy closed the connection, or the test ended
    }
  }
}
