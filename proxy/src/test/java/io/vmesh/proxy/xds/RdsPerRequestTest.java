package io.vmesh.proxy.xds;

import static io.vmesh.proxy.config.XdsFixtures.cla;
import static io.vmesh.proxy.config.XdsFixtures.eds;
import static io.vmesh.proxy.config.XdsFixtures.http;
import static io.vmesh.proxy.config.XdsFixtures.routes;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import io.vmesh.proxy.config.XdsFixtures;
import io.vmesh.proxy.config.XdsResources.Type;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RDS applies per request, as in Envoy: a kept-alive HTTP/1.1 connection and an h2c connection opened
 * before a RouteConfiguration push send their next request (next stream) by the pushed routes — also to a
 * cluster that CDS and EDS added after the connections opened — while a request in flight during the
 * push finishes where it was routed.
 */
class RdsPerRequestTest {

  @TempDir
  Path dir;

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final CountDownLatch slowArrived = new CountDownLatch(2);
  private final CountDownLatch releaseSlow = new CountDownLatch(1);
  private ProxyServer proxy;

  @AfterEach
  void stop() throws Exception {
    releaseSlow.countDown();
    if (proxy != null) {
      proxy.stop();
    }
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  @Test
  void keptAliveConnectionsFollowEachRouteConfigurationPushAndRequestsInFlightFinishWhereTheyStarted() throws Exception {
    int originA = origin("origin A");
    int originB = origin("origin B");
    int originC = origin("origin C");
    TestAdsServer ads = new TestAdsServer();
    cleanup.add(ads);
    int adsPort = ads.start(0);
    Path token = dir.resolve("token");
    Files.writeString(token, "test-token\n");
    int httpPort = freePort();
    ads.push(Type.CLUSTER.typeUrl(), "c1", List.of(eds("web-a", ""), eds("web-b", "")));
    ads.push(Type.ENDPOINT.typeUrl(), "e1", List.of(cla("web-a", originA), cla("web-b", originB)));
    ads.push(Type.LISTENER.typeUrl(), "l1", List.of(http("http", httpPort, "web")));
    ads.push(Type.ROUTE.typeUrl(), "r1", List.of(routes("web", "web-a")));
    // two event loops: the connections may land on different ones, each reading the running configuration
    proxy = new ProxyServer(new ProxyServer.Settings(2, "127.0.0.1", 0, "127.0.0.1", 0, ProxyServer.Settings.DEFAULT_DRAIN_MILLIS, token),
        RuntimeConfigBuilder.build(BootstrapLoader.parse("node: { id: sidecar~127.0.0.1~t.default~default.svc.cluster.local }\n"
            + XdsFixtures.adsBootstrap("STATIC", "127.0.0.1", adsPort), false), Clock.systemUTC()));
    proxy.start();
    awaitReady();

    Vertx vertx = Vertx.vertx();
    cleanup.add(() -> vertx.close().await(10, TimeUnit.SECONDS));
    HttpClient h2 = vertx.httpClientBuilder()
        .with(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false))
        .with(new PoolOptions().setHttp2MaxSize(1)).build();
    try (KeepAlive h1 = new KeepAlive(httpPort); KeepAlive h1Slow = new KeepAlive(httpPort)) {
      assertThat(h1.get("/one")).isEqualTo("origin A /one");
      H2Answer first = h2get(h2, httpPort, "/one");
      HttpConnection h2Connection = first.connection();
      assertThat(first.body()).isEqualTo("origin A /one");

      // one request per protocol routed before the push and still waiting for its answer
      h1Slow.send("/slow");
      Future<H2Answer> slowH2 = h2request(h2, httpPort, "/slow");
      assertThat(slowArrived.await(20, TimeUnit.SECONDS)).as("both slow requests reached origin A").isTrue();

      int before = ads.requests.size();
      ads.push(Type.ROUTE.typeUrl(), "r2", List.of(routes("web", "web-b")));
      awaitAck(ads, before, Type.ROUTE, "r2");
      assertThat(h1.get("/two")).isEqualTo("origin B /two");
      H2Answer second = h2get(h2, httpPort, "/two");
      assertThat(second.connection()).as("the same h2c connection").isSameAs(h2Connection);
      assertThat(second.body()).isEqualTo("origin B /two");

      releaseSlow.countDown();
      assertThat(h1Slow.read()).isEqualTo("origin A /slow");
      assertThat(await(slowH2).body()).isEqualTo("origin A /slow");

      // a cluster that did not exist when the connections opened
      before = ads.requests.size();
      ads.push(Type.CLUSTER.typeUrl(), "c2", List.of(eds("web-a", ""), eds("web-b", ""), eds("web-c", "")));
      ads.push(Type.ENDPOINT.typeUrl(), "e2", List.of(cla("web-a", originA), cla("web-b", originB), cla("web-c", originC)));
      awaitAck(ads, before, Type.ENDPOINT, "e2");
      ads.push(Type.ROUTE.typeUrl(), "r3", List.of(routes("web", "web-c")));
      awaitAck(ads, before, Type.ROUTE, "r3");
      assertThat(h1.get("/three")).isEqualTo("origin C /three");
      assertThat(h1Slow.get("/three")).isEqualTo("origin C /three");
      H2Answer third = h2get(h2, httpPort, "/three");
      assertThat(third.connection()).isSameAs(h2Connection);
      assertThat(third.body()).isEqualTo("origin C /three");
    }
  }

  private record H2Answer(HttpConnection connection, String body) {
  }

  private static Future<H2Answer> h2request(HttpClient client, int port, String path) {
    return client.request(new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port).setURI(path))
        .compose(r -> r.send().compose(res -> {
          assertThat(res.statusCode()).isEqualTo(200);
          return res.body().map(b -> new H2Answer(r.connection(), b.toString()));
        }));
  }

  private static H2Answer h2get(HttpClient client, int port, String path) throws Exception {
    return await(h2request(client, port, path));
  }

  /** One HTTP/1.1 connection kept open across requests. */
  private static final class KeepAlive implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;

    KeepAlive(int port) throws IOException {
      socket = new Socket();
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      socket.setSoTimeout(20_000);
      in = socket.getInputStream();
    }

    String get(String path) throws IOException {
      send(path);
      return read();
    }

    void send(String path) throws IOException {
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: web\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
    }

    /** The status and body of the next response; fails on anything but a kept-alive 200 with a Content-Length. */
    String read() throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          throw new IOException("the proxy closed the connection; read so far: " + head);
        }
        head.write(b);
      }
      String text = head.toString(StandardCharsets.ISO_8859_1);
      assertThat(text).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
      int length = -1;
      for (String line : text.split("\r\n")) {
        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        }
      }
      assertThat(length).as("Content-Length in " + text).isNotNegative();
      return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private void awaitReady() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!proxy.ready()) {
      assertThat(System.nanoTime()).as("the proxy gets ready after its first complete xDS config").isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static void awaitAck(TestAdsServer ads, int from, Type type, String version) throws InterruptedException {
    DiscoveryRequest ack = ads.await(from, r -> r.getTypeUrl().equals(type.typeUrl()) && r.getVersionInfo().equals(version)
        && !r.getResponseNonce().isEmpty(), "ACK of " + version);
    assertThat(ack.hasErrorDetail()).as(ack.getErrorDetail().getMessage()).isFalse();
  }

  private int origin(String says) throws IOException {
    TestOrigin origin = new TestOrigin(says, () -> {
      slowArrived.countDown();
      try {
        releaseSlow.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    cleanup.add(origin);
    return origin.port();
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
