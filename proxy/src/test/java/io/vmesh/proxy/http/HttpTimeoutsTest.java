package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The connection manager's timeouts on real sockets, with short values: stream_idle_timeout (408 before
 * the response, the connection cut after it), request_timeout (408 while the body still trickles in),
 * idle_timeout (an idle HTTP/1.1 connection closed, an idle HTTP/2 one sent GOAWAY) and
 * max_connection_duration (closed between requests, after the response in flight).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpTimeoutsTest {

  static {
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

  private final ExecutorService executor = Executors.newCachedThreadPool();
  private HttpServer upstream;
  private ProxyServer proxy;
  private Vertx vertx;
  private int idle;
  private int request;
  private int duration;

  @BeforeAll
  void start() throws Exception {
    upstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    upstream.setExecutor(executor);
    upstream.createContext("/", exchange -> {
      String path = exchange.getRequestURI().getPath();
      exchange.getRequestBody().readAllBytes();
      try (OutputStream out = exchange.getResponseBody()) {
        if (path.startsWith("/stall")) {
          // no response headers for longer than the stream may stay idle
          sleep(3000);
        }
        byte[] body = ("ok " + path).getBytes(StandardCharsets.UTF_8);
        if (path.startsWith("/trickle")) {
          // the headers and a first part, then silence
          exchange.sendResponseHeaders(200, 100);
          out.write(body);
          out.flush();
          sleep(3000);
          out.write(new byte[100 - body.length]);
          return;
        }
        if (path.startsWith("/slow")) {
          sleep(800);
        }
        exchange.sendResponseHeaders(200, body.length);
        out.write(body);
      } catch (IOException e) {
        // the proxy cut the stream
      }
    });
    upstream.start();
    idle = freePort();
    request = freePort();
    duration = freePort();
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0), RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - %s
          - %s
          - %s
          clusters:
          - { name: up, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ] } ] } }
        """.formatted(
            listener("idle", idle, "stream_idle_timeout: 0.5s, common_http_protocol_options: { idle_timeout: 0.5s }"),
            listener("request", request, "request_timeout: 0.6s"),
            listener("duration", duration, "common_http_protocol_options: { max_connection_duration: 0.5s }"),
            upstream.getAddress().getPort()), false), Clock.systemUTC()));
    proxy.start();
    vertx = Vertx.vertx();
  }

  private static String listener(String name, int port, String timeouts) {
    return """
        { name: %1$s, address: { socket_address: { address: 127.0.0.1, port_value: %2$d } },
              filter_chains: [ { filters: [ { name: hcm, typed_config: { "@type": "%3$s", stat_prefix: %1$s, %4$s,
                route_config: { virtual_hosts: [ { name: all, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: up, timeout: 0s } } ] } ] } } } ] } ] }"""
        .formatted(name, port, HCM, timeouts);
  }

  @AfterAll
  void stop() throws Exception {
    if (proxy != null) {
      proxy.stop();
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
    upstream.stop(0);
    executor.shutdownNow();
  }

  @Test
  void aKeptAliveConnectionWithNoRequestIsClosedAfterIdleTimeout() throws Exception {
    long before = stat("http.idle.downstream_cx_idle_timeout");
    try (RawHttp c = new RawHttp(idle)) {
      assertThat(c.send(RawHttp.request("GET", "x", "/one")).text()).isEqualTo("ok /one");
      assertThat(c.send(RawHttp.request("GET", "x", "/two")).text()).as("kept alive").isEqualTo("ok /two");
      assertThat(c.closedByServer()).isTrue();
    }
    // other tests' connections to this listener (HTTP/2 ones among them) may go idle meanwhile too
    assertThat(stat("http.idle.downstream_cx_idle_timeout")).isGreaterThan(before);
  }

  @Test
  void requestsCloserThanTheTimeoutsKeepAConnectionOpenAndALaterStallStillTimesOut() throws Exception {
    // the idle and stream idle timers are moved on from request to request rather than set anew: neither may
    // fire for an earlier request, and both must still fire for the one that stalls
    long before = stat("http.idle.downstream_rq_idle_timeout");
    try (RawHttp c = new RawHttp(idle)) {
      for (int i = 0; i < 6; i++) {
        assertThat(c.send(RawHttp.request("GET", "x", "/again/" + i)).text()).isEqualTo("ok /again/" + i);
        Thread.sleep(200);
      }
      c.write(RawHttp.request("POST", "x", "/body", "Content-Length: 10") + "abc");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(408);
      assertThat(r.text()).isEqualTo("stream timeout");
      assertThat(c.closedByServer()).isTrue();
    }
    assertThat(stat("http.idle.downstream_rq_idle_timeout")).isGreaterThan(before);
  }

  @Test
  void aRequestWhoseBodyStopsGets408StreamTimeout() throws Exception {
    long before = stat("http.idle.downstream_rq_idle_timeout");
    try (RawHttp c = new RawHttp(idle)) {
      c.write(RawHttp.request("POST", "x", "/body", "Content-Length: 10") + "abc");
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(408);
      assertThat(r.text()).isEqualTo("stream timeout");
      assertThat(r.headers()).containsEntry("connection", "close");
      assertThat(c.closedByServer()).isTrue();
    }
    assertThat(stat("http.idle.downstream_rq_idle_timeout")).isGreaterThan(before);
  }

  @Test
  void anUpstreamSilentBeforeItsHeadersGives408AndAfterThemTheConnectionIsCut() throws Exception {
    try (RawHttp c = new RawHttp(idle)) {
      RawHttp.Response r = c.send(RawHttp.request("GET", "x", "/stall"));
      assertThat(r.status()).isEqualTo(408);
      assertThat(r.text()).isEqualTo("stream timeout");
    }
    try (RawHttp c = new RawHttp(idle)) {
      c.write(RawHttp.request("GET", "x", "/trickle"));
      // 100 bytes announced, 11 sent, then the stream idles: the response cannot complete
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).as("cut short").hasSizeLessThan(100);
    }
  }

  @Test
  void aBodyThatKeepsTricklingStillMeetsRequestTimeout() throws Exception {
    long before = stat("http.request.downstream_rq_timeout");
    long started = System.nanoTime();
    try (RawHttp c = new RawHttp(request)) {
      c.write(RawHttp.request("POST", "x", "/body", "Content-Length: 100"));
      // never idle, never whole
      Thread writer = new Thread(() -> {
        try {
          for (int i = 0; i < 40; i++) {
            c.write("a");
            Thread.sleep(100);
          }
        } catch (IOException | InterruptedException e) {
          // the proxy closed the connection
        }
      });
      writer.setDaemon(true);
      writer.start();
      RawHttp.Response r = c.read();
      assertThat(r.status()).isEqualTo(408);
      assertThat(r.text()).isEqualTo("request timeout");
      writer.interrupt();
    }
    assertThat((System.nanoTime() - started) / 1_000_000).as("ms to the 408").isLessThan(3500);
    assertThat(stat("http.request.downstream_rq_timeout")).isEqualTo(before + 1);
  }

  @Test
  void maxConnectionDurationClosesAfterTheResponseInFlight() throws Exception {
    long before = stat("http.duration.downstream_cx_max_duration_reached");
    try (RawHttp c = new RawHttp(duration)) {
      assertThat(c.send(RawHttp.request("GET", "x", "/slow")).text()).as("the request in flight at the deadline finishes")
          .isEqualTo("ok /slow");
      assertThat(c.closedByServer()).isTrue();
    }
    try (RawHttp c = new RawHttp(duration)) {
      assertThat(c.send(RawHttp.request("GET", "x", "/quick")).text()).isEqualTo("ok /quick");
      assertThat(c.closedByServer()).as("closed at the deadline, between requests").isTrue();
    }
    assertThat(stat("http.duration.downstream_cx_max_duration_reached")).isEqualTo(before + 2);
  }

  @Test
  void anIdleHttp2ConnectionIsSentGoAway() throws Exception {
    HttpClient h2 = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false))
        .with(new PoolOptions().setHttp2MaxSize(1)).build();
    Promise<Long> goAway = Promise.promise();
    Future<String> body = h2.request(new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(idle).setURI("/h2"))
        .compose(req -> {
          req.connection().goAwayHandler(g -> goAway.tryComplete(g.getErrorCode()));
          return req.send().compose(res -> res.body().map(b -> b.toString()));
        });
    assertThat(body.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)).isEqualTo("ok /h2");
    assertThat(goAway.future().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)).as("GOAWAY NO_ERROR").isZero();
  }

  @Test
  void anHttp2StreamWhoseBodyStopsGets408AndTheConnectionServesOn() throws Exception {
    HttpClient h2 = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false))
        .with(new PoolOptions().setHttp2MaxSize(1)).build();
    RequestOptions post = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(idle).setURI("/h2-body");
    Future<String> timedOut = h2.request(post).compose(req -> {
      req.setChunked(true);
      // part of the body, never the end
      req.write("abc");
      return req.response().compose(res -> res.body().map(b -> res.statusCode() + " " + b));
    });
    assertThat(timedOut.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)).isEqualTo("408 stream timeout");
    Future<String> next = h2.request(new RequestOptions(post).setMethod(HttpMethod.GET).setURI("/after"))
        .compose(req -> req.send().compose(res -> res.body().map(b -> b.toString())));
    assertThat(next.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)).isEqualTo("ok /after");
  }

  private long stat(String name) {
    for (String line : proxy.stats().text().split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Long.parseLong(line.substring(name.length() + 2));
      }
    }
    // the stats of a prefix appear with its first connection
    return 0;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
