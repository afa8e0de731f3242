package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * How HTTP/1.1 responses go onto the downstream socket: a response the upstream sent in one write
 * leaves the proxy in one send (head, body and end are not flushed apart), and pipelined requests are
 * still answered one by one, in order. The upstream is a plain socket server, so each response is
 * one write there; the client's segments are counted by the kernel ({@code ss -ti}, data_segs_in).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResponseWritesTest {

  private static final Pattern DATA_SEGS_IN = Pattern.compile("data_segs_in:(\\d+)");

  private RawUpstreamProxy proxy;
  private int front;

  @BeforeAll
  void start() throws Exception {
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
  void aResponseTheUpstreamWroteAtOnceReachesTheClientInOneSegment() throws Exception {
    int requests = 20;
    try (RawHttp client = new RawHttp(front)) {
      for (int i = 0; i < requests; i++) {
        RawHttp.Response r = client.send(RawHttp.request("GET", "any", "/one-write/" + i));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).isEqualTo("/one-write/" + i + "x".repeat(1000));
      }
      // head, 1 KiB of body and end flushed apart would be two segments per response (three sends before)
      assertThat(dataSegmentsIn(client.localPort())).isEqualTo(requests);
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    try (RawHttp client = new RawHttp(front)) {
      StringBuilder all = new StringBuilder();
      // the first is answered last by the upstream if it were sent in parallel: order must come from the proxy
      all.append(RawHttp.request("GET", "any", "/slow/0"));
      for (int i = 1; i < 5; i++) {
        all.append(RawHttp.request("GET", "any", "/fast/" + i));
      }
      client.write(all.toString());
      List<String> bodies = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        bodies.add(client.read().text().replace("x", ""));
      }
      assertThat(bodies).containsExactly("/slow/0", "/fast/1", "/fast/2", "/fast/3", "/fast/4");
    }
  }

  /** Keep-alive HTTP/1.1 without bodies: each response (path, then x's to 1 KiB in all) in one write. */
  private void serve(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      while (true) {
        String head = RawUpstreamProxy.head(in);
        if (head == null) {
          return;
        }
        String path = head.split(" ")[1];
        if (path.startsWith("/slow")) {
          Thread.sleep(300);
        }
        String body = path + "x".repeat(1000);
        byte[] bytes = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length() + "\r\n\r\n" + body)
            .getBytes(StandardCharsets.ISO_8859_1);
        out.write(bytes);
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // the proxy closed the connection, or the test ended
    }
  }

  /** The kernel's count of data segments received on the client's socket. */
  private static long dataSegmentsIn(int localPort) throws Exception {
    Process ss = new ProcessBuilder("ss", "-tinH", "src", "127.0.0.1:" + localPort).redirectErrorStream(true).start();
    String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(ss.waitFor(10, TimeUnit.SECONDS)).isTrue();
    Matcher m = DATA_SEGS_IN.matcher(out);
    assertThat(m.find()).as("ss output: %s", out).isTrue();
    return Long.parseLong(m.group(1));
  }
}
