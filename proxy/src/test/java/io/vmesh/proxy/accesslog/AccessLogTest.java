package io.vmesh.proxy.accesslog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmesh.proxy.accesslog.AccessLog.Entry;
import io.vmesh.proxy.accesslog.AccessLog.Http;
import io.vmesh.proxy.accesslog.AccessLog.Result;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Istio's default sidecar format, field by field, for TCP connections and HTTP requests. */
class AccessLogTest {

  private static final Instant START = Instant.parse("2026-11-26T10:15:30Z");

  @Test
  void aTcpConnectionHasDashesForEveryHttpField() {
    Entry e = new Entry(START, "virtualOutbound", "virtualOutbound-catchall-tcp", new InetSocketAddress("10.88.0.10", 40000),
        new InetSocketAddress("10.88.0.11", 7000), "PassthroughCluster", new InetSocketAddress("10.88.0.11", 7000),
        new InetSocketAddress("10.88.0.10", 51234), null, 22, 44, 3, Result.OK, null, null);
    assertThat(AccessLog.format(e)).isEqualTo("[2026-11-26T10:15:30.000Z] \"- - -\" 0 - - - \"-\" 22 44 3 - \"-\" \"-\" \"-\" \"-\" "
        + "\"10.88.0.11:7000\" PassthroughCluster 10.88.0.10:51234 10.88.0.11:7000 10.88.0.10:40000 - - "
        + "virtualOutbound virtualOutbound-catchall-tcp");
  }

  @Test
  void aRefusedConnectionSaysWhyInFlagsAndDetails() {
    Entry e = new Entry(START, "virtualOutbound", new InetSocketAddress("fd00::1", 40000), null, null, 0, 0, 0, Result.NO_ORIGINAL_DST);
    assertThat(AccessLog.format(e)).isEqualTo("[2026-11-26T10:15:30.000Z] \"- - -\" 0 NR no_original_dst - \"-\" 0 0 0 - "
        + "\"-\" \"-\" \"-\" \"-\" \"-\" - - - [fd00::1]:40000 - - virtualOutbound -");
    Entry failed = new Entry(START, "front", "c", new InetSocketAddress("127.0.0.1", 1), new InetSocketAddress("127.0.0.1", 2), "dead",
        new InetSocketAddress("127.0.0.1", 7999), null, "api.example.com", 0, 0, 1, Result.UPSTREAM_CONNECT_FAILED,
        "Connection refused: /127.0.0.1:7999", null);
    assertThat(AccessLog.format(failed)).contains(" 0 UF upstream_reset_before_response_started{connection_failure} - "
            + "\"Connection refused: /127.0.0.1:7999\" 0 0 1 ")
        .endsWith("\"127.0.0.1:7999\" dead - 127.0.0.1:2 127.0.0.1:1 api.example.com - front c");
  }

  @Test
  void anHttpRequestShowsItsHeadersAsSentUpstream() {
    Map<String, String> headers = Map.of("x-forwarded-for", "10.88.0.10", "user-agent", "curl/8.0", "x-request-id", "abc-123",
        ":authority", "web:8080");
    Http http = new Http("GET", "/two/who", 200, "-", "HTTP/1.1", headers::get, "5", new InetSocketAddress("10.88.0.12", 8080),
        new InetSocketAddress("10.88.0.10", 40100));
    Entry e = new Entry(START, "0.0.0.0_8080", new InetSocketAddress("10.88.0.10", 40000), new InetSocketAddress("10.88.0.11", 8080),
        "two", 0, 12, 7, Result.OK, http);
    List<Entry> seen = new ArrayList<>();
    List<String> lines = new ArrayList<>();
    new AccessLog(AccessLogFormat.ISTIO_DEFAULT, lines::add).scoped(new AccessLog.Scope("http-8080", null, seen::add)).log(e);
    assertThat(lines).containsExactly("[2026-11-26T10:15:30.000Z] \"GET /two/who HTTP/1.1\" 200 - via_upstream - \"-\" 0 12 7 5 "
        + "\"10.88.0.10\" \"curl/8.0\" \"abc-123\" \"web:8080\" \"10.88.0.12:8080\" two 10.88.0.10:40100 10.88.0.11:8080 "
        + "10.88.0.10:40000 - - 0.0.0.0_8080 http-8080");
    assertThat(seen).singleElement().extracting(Entry::chain).isEqualTo("http-8080");
  }

  @Test
  void aLineWithIpv6AddressesReadsBackIntoItsFields() {
    // [fd88::11]:40000 starts like the bracketed start time but is one field up to the next space
    Entry e = new Entry(START, "virtualOutbound", new InetSocketAddress("fd88::11", 40000), new InetSocketAddress("fd88::10", 7000),
        "PassthroughCluster", 5, 5, 3, Result.OK);
    AccessLogLine line = AccessLogLine.parse(AccessLog.format(e)).orElseThrow();
    assertThat(line.downstreamRemoteAddress()).isEqualTo("[fd88::11]:40000");
    assertThat(line.downstreamLocalAddress()).isEqualTo("[fd88::10]:7000");
    assertThat(line.upstreamCluster()).isEqualTo("PassthroughCluster");
    assertThat(line.listener()).isEqualTo("virtualOutbound");
  }

  @Test
  void aDefaultLineReadsBackIntoItsFields() {
    Http http = new Http("GET", "/a?b=c", 503, "UF,URX", "HTTP/1.0", Map.of("user-agent", "Mozilla/5.0 (X11; Linux)")::get, null,
        new InetSocketAddress("10.0.0.9", 80), null);
    Entry e = new Entry(START, "front", new InetSocketAddress("127.0.0.1", 4), new InetSocketAddress("127.0.0.1", 5), "dead", 1, 91,
        17, Result.UPSTREAM_CONNECT_FAILED, http);
    AccessLogLine line = AccessLogLine.parse(AccessLog.format(e)).orElseThrow();
    assertThat(line.method()).isEqualTo("GET");
    assertThat(line.path()).isEqualTo("/a?b=c");
    assertThat(line.protocol()).isEqualTo("HTTP/1.0");
    assertThat(line.responseCode()).isEqualTo("503");
    assertThat(line.responseFlags()).isEqualTo("UF,URX");
    assertThat(line.userAgent()).isEqualTo("Mozilla/5.0 (X11; Linux)");
    assertThat(line.bytesSent()).isEqualTo(91);
    assertThat(line.upstreamHost()).isEqualTo("10.0.0.9:80");
    assertThat(line.upstreamCluster()).isEqualTo("dead");
    assertThat(line.downstreamLocalAddress()).isEqualTo("127.0.0.1:5");
    assertThat(line.downstreamRemoteAddress()).isEqualTo("127.0.0.1:4");
    assertThat(line.listener()).isEqualTo("front");
    assertThat(line.filterChain()).isEqualTo("-");
    assertThat(AccessLogLine.parse("2026-11-26 17:00:00,000 INFO ProxyServer vmesh-proxy ready")).isEmpty();
  }

  @Test
  void customFormatsUseEnvoysOperatorsAndRefuseUnknownOnes() {
    AccessLogFormat f = AccessLogFormat.parse("%REQ(X-MISSING?USER-AGENT):4% %%%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_CLUSTER%\n");
    Http http = new Http("GET", "/", 200, "-", "HTTP/1.1", Map.of("user-agent", "curl/8.0")::get, null, null, null);
    Entry e = new Entry(START, "l", new InetSocketAddress("fd00::2", 1), null, null, 0, 0, 0, Result.OK, http);
    assertThat(f.format(e)).isEqualTo("curl %fd00::2 -");
    assertThatThrownBy(() -> AccessLogFormat.parse("%START_TIME% %NOPE%")).hasMessageContaining("%NOPE% is not supported");
    assertThatThrownBy(() -> AccessLogFormat.parse("%REQ(A):x%")).hasMessageContaining("positive integer");
    assertThatThrownBy(() -> AccessLogFormat.parse("%START_TIME")).hasMessageContaining("unterminated");
    assertThatThrownBy(() -> AccessLogFormat.parse("%RESP(CONTENT-TYPE)%")).hasMessageContaining("X-ENVOY-UPSTREAM-SERVICE-TIME");
  }

  @Test
  void linesStayTheSameWhenAddressesAndTheBuilderAreReused() {
    // addresses are printed from a cache and the line's builder is reused: the second and later lines must not differ
    AccessLogFormat f = AccessLogFormat.parse("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% "
        + "%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %UPSTREAM_HOST% %REQ(USER-AGENT)%\n");
    Http http = new Http("GET", "/", 200, "-", "HTTP/1.1", Map.of("user-agent", "é".repeat(5000))::get, null,
        new InetSocketAddress("10.0.0.9", 80), null);
    Entry v6 = new Entry(START, "l", new InetSocketAddress("fd00::2", 1), new InetSocketAddress("fd00::3", 8080), "c", 0, 0, 0,
        Result.OK, http);
    Entry v4 = new Entry(START, "l", new InetSocketAddress("10.0.0.1", 2), new InetSocketAddress("10.0.0.2", 8080), "c", 0, 0, 0,
        Result.OK, new Http("GET", "/", 200, "-"));
    String longLine = "[fd00::2]:1 fd00::2 [fd00::3]:8080 fd00::3 10.0.0.9:80 " + "é".repeat(5000);
    for (int i = 0; i < 3; i++) {
      assertThat(f.format(v6)).isEqualTo(longLine);
      assertThat(f.format(v4)).isEqualTo("10.0.0.1:2 10.0.0.1 10.0.0.2:8080 10.0.0.2 - -");
    }
    List<String> chunks = new ArrayList<>();
    AccessLogSink sink = new AccessLogSink("test", (b, n) -> chunks.add(new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8)));
    sink.accept(f.format(v6));
    sink.accept(f.format(v4));
    sink.flush();
    assertThat(String.join("", chunks)).isEqualTo(longLine + "\n10.0.0.1:2 10.0.0.1 10.0.0.2:8080 10.0.0.2 - -\n");
  }
}
