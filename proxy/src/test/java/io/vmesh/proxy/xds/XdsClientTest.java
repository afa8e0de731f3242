package io.vmesh.proxy.xds;

import static io.vmesh.proxy.config.XdsFixtures.cla;
import static io.vmesh.proxy.config.XdsFixtures.eds;
import static io.vmesh.proxy.config.XdsFixtures.http;
import static io.vmesh.proxy.config.XdsFixtures.routes;
import static io.vmesh.proxy.config.XdsFixtures.tcp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.vertx.core.net.SelfSignedCertificate;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import io.vmesh.proxy.config.XdsFixtures;
import io.vmesh.proxy.config.XdsResources.Type;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real proxy fed by a real ADS stream on loopback: clusters, endpoints, listeners and routes arrive,
 * TCP and HTTP are forwarded by them; an invalid resource is NACKed with its field path while traffic
 * goes on by the old config; a listener removed by an update lets its in-flight connection finish; the
 * server stopped and restarted → the proxy serves on, reconnects with its token and resumes from its versions.
 */
class XdsClientTest {

  @TempDir
  Path dir;

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private ProxyServer proxy;
  private final CountDownLatch slowArrived = new CountDownLatch(1);

  @AfterEach
  void stop() throws Exception {
    if (proxy != null) {
      proxy.stop();
    }
    for (AutoCloseable c : cleanup) {
      c.close();
    }
  }

  @Test
  void appliesPushedConfigNacksBadResourcesDrainsRemovedListenersAndSurvivesTheServer() throws Exception {
    int echo = echoServer();
    int originA = origin("origin A");
    int originB = origin("origin B");
    TestAdsServer ads = new TestAdsServer();
    cleanup.add(ads);
    int adsPort = ads.start(0);
    Path token = dir.resolve("token");
    Files.writeString(token, "test-token\n");
    int admin = freePort();
    int tcpPort = freePort();
    int httpPort = freePort();
    int tcp2Port = freePort();

    ads.push(Type.CLUSTER.typeUrl(), "c1", List.of(eds("echo", ""), eds("web-a", ""), eds("web-b", "")));
    ads.push(Type.ENDPOINT.typeUrl(), "e1", List.of(cla("echo", echo), cla("web-a", originA), cla("web-b", originB)));
    ads.push(Type.LISTENER.typeUrl(), "l1", List.of(tcp("tcp", tcpPort, "echo"), http("http", httpPort, "web")));
    ads.push(Type.ROUTE.typeUrl(), "r1", List.of(routes("web", "web-a")));

    // two event loops: each has its own instance of every listener, all bound and drained together
    proxy = new ProxyServer(new ProxyServer.Settings(2, "127.0.0.1", 0, "127.0.0.1", 0, ProxyServer.Settings.DEFAULT_DRAIN_MILLIS, token), RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        node: { id: "sidecar~127.0.0.1~test.default~default.svc.cluster.local", cluster: default }
        admin: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
        """.formatted(admin) + XdsFixtures.adsBootstrap("STATIC", "127.0.0.1", adsPort), false), Clock.systemUTC()));
    proxy.start();

    awaitReady();
    assertThat(exchange(tcpPort, "hello over xDS")).isEqualTo("hello over xDS");
    assertThat(get(httpPort, "/x")).isEqualTo("200 origin A /x");
    assertThat(ads.authorizations).containsExactly("Bearer test-token");
    assertThat(ads.requests.get(0).getNode().getId()).isEqualTo("sidecar~127.0.0.1~test.default~default.svc.cluster.local");
    for (Type type : Type.values()) {
      DiscoveryRequest ack = ads.await(0, r -> r.getTypeUrl().equals(type.typeUrl()) && !r.getResponseNonce().isEmpty(), "ACK " + type);
      assertThat(ack.hasErrorDetail()).as("ACK of " + type).isFalse();
    }
    String dump = get(admin, "/config_dump");
    assertThat(dump).contains("dynamic_active_clusters", "\"version_info\": \"c1\"", "dynamic_listeners", "\"version_info\": \"l1\"",
        "dynamic_route_configs", "\"version_info\": \"r1\"", "dynamic_endpoint_configs", "\"version_info\": \"e1\"", "last_updated");

    // a cluster whose endpoints do not come warms, and does not take the proxy out of readiness
    int before = ads.requests.size();
    ads.push(Type.CLUSTER.typeUrl(), "c2", List.of(eds("echo", ""), eds("web-a", ""), eds("web-b", ""), eds("late", "")));
    awaitAck(ads, before, Type.CLUSTER, "c2");
    assertThat(ads.await(before, r -> r.getTypeUrl().equals(Type.ENDPOINT.typeUrl()) && r.getResourceNamesList().contains("late"),
        "EDS subscription with the new cluster").getResourceNamesList()).containsExactly("echo", "late", "web-a", "web-b");
    assertThat(get(admin, "/config_dump")).contains("dynamic_warming_clusters");
    assertThat(proxy.ready()).isTrue();

    // a listener with a field vmesh-proxy does not implement: NACKed, named, and nothing changes
    before = ads.requests.size();
    Listener bad = tcp("tcp", tcpPort, "echo").toBuilder().setPerConnectionBufferLimitBytes(UInt32Value.of(1024)).build();
    ads.push(Type.LISTENER.typeUrl(), "l2", List.of(bad, http("http", httpPort, "web")));
    DiscoveryRequest nack = ads.await(before, r -> r.getTypeUrl().equals(Type.LISTENER.typeUrl()) && r.hasErrorDetail(), "NACK of l2");
    assertThat(nack.getVersionInfo()).isEqualTo("l1");
    assertThat(nack.getResponseNonce()).isEqualTo(ads.lastNonce(Type.LISTENER.typeUrl()));
    assertThat(nack.getErrorDetail().getCode()).isEqualTo(3);
    assertThat(nack.getErrorDetail().getMessage()).startsWith("listeners[tcp].per_connection_buffer_limit_bytes: field not supported");
    assertThat(exchange(tcpPort, "still by l1")).isEqualTo("still by l1");

    // the tcp listener moves to another port while a connection through it is open: that connection finishes
    try (Socket inFlight = connect(tcpPort)) {
      inFlight.getOutputStream().write("first half, ".getBytes(StandardCharsets.UTF_8));
      assertThat(read(inFlight, 12)).isEqualTo("first half, ");
      before = ads.requests.size();
      ads.push(Type.LISTENER.typeUrl(), "l3", List.of(tcp("tcp2", tcp2Port, "echo"), http("http", httpPort, "web")));
      awaitAck(ads, before, Type.LISTENER, "l3");
      assertThat(exchange(tcp2Port, "on the new listener")).isEqualTo("on the new listener");
      awaitRefused(tcpPort);
      inFlight.getOutputStream().write("second half".getBytes(StandardCharsets.UTF_8));
      inFlight.shutdownOutput();
      assertThat(new String(inFlight.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("second half");
    }

    // a listener whose port is taken: NACKed, and the listeners that run keep running
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      before = ads.requests.size();
      ads.push(Type.LISTENER.typeUrl(), "l4", List.of(tcp("tcp2", tcp2Port, "echo"), http("http", httpPort, "web"),
          tcp("taken", taken.getLocalPort(), "echo")));
      nack = ads.await(before, r -> r.getTypeUrl().equals(Type.LISTENER.typeUrl()) && r.hasErrorDetail(), "NACK of l4");
      assertThat(nack.getVersionInfo()).isEqualTo("l3");
      assertThat(nack.getErrorDetail().getMessage()).startsWith("listeners[taken].address: cannot bind 127.0.0.1:" + taken.getLocalPort());
      assertThat(exchange(tcp2Port, "l3 still runs")).isEqualTo("l3 still runs");
    }

    before = ads.requests.size();
    ads.push(Type.ROUTE.typeUrl(), "r2", List.of(routes("web", "web-b")));
    awaitAck(ads, before, Type.ROUTE, "r2");
    assertThat(get(httpPort, "/y")).isEqualTo("200 origin B /y");

    // the http listener goes while a request through it waits for its response: the response arrives
    CompletableFuture<String> slow = CompletableFuture.supplyAsync(() -> {
      try {
        return get(httpPort, "/slow");
      } catch (Exception e) {
        return e.toString();
      }
    });
    assertThat(slowArrived.await(30, TimeUnit.SECONDS)).isTrue();
    before = ads.requests.size();
    ads.push(Type.LISTENER.typeUrl(), "l5", List.of(tcp("tcp2", tcp2Port, "echo")));
    awaitAck(ads, before, Type.LISTENER, "l5");
    awaitRefused(httpPort);
    assertThat(slow.get(30, TimeUnit.SECONDS)).isEqualTo("200 origin B /slow");
    before = ads.requests.size();
    ads.push(Type.LISTENER.typeUrl(), "l6", List.of(tcp("tcp2", tcp2Port, "echo"), http("http", httpPort, "web")));
    awaitAck(ads, before, Type.LISTENER, "l6");
    // its routes were dropped with it and are asked for again: the listener runs once they are back
    awaitAck(ads, before, Type.ROUTE, "r2");

    // the operator goes away: traffic goes on by the last good config
    ads.stop();
    Thread.sleep(1000);
    assertThat(exchange(tcp2Port, "nobody at the server")).isEqualTo("nobody at the server");
    assertThat(get(httpPort, "/z")).isEqualTo("200 origin B /z");
    assertThat(proxy.ready()).isTrue();

    // back on the same port: the proxy reconnects with its token, resumes from its versions, takes a new push
    Files.writeString(token, "rotated-token");
    before = ads.requests.size();
    ads.start(adsPort);
    DiscoveryRequest resumed = ads.await(before, r -> r.getTypeUrl().equals(Type.LISTENER.typeUrl()), "LDS after reconnect");
    assertThat(resumed.getVersionInfo()).isEqualTo("l6");
    assertThat(resumed.getResponseNonce()).isEmpty();
    assertThat(ads.await(before, r -> r.getTypeUrl().equals(Type.ROUTE.typeUrl()), "RDS after reconnect").getVersionInfo())
        .isEqualTo("r2");
    assertThat(ads.authorizations).last().isEqualTo("Bearer rotated-token");
    before = ads.requests.size();
    ads.push(Type.ROUTE.typeUrl(), "r3", List.of(routes("web", "web-a")));
    awaitAck(ads, before, Type.ROUTE, "r3");
    assertThat(get(httpPort, "/back")).isEqualTo("200 origin A /back");
  }

  @Test
  void speaksTlsToATrustedServerAndConnectsWithoutATokenFile() throws Exception {
    SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
    TestAdsServer ads = new TestAdsServer(cert);
    cleanup.add(ads);
    int adsPort = ads.start(0);
    int echo = echoServer();
    int tcpPort = freePort();
    ads.push(Type.CLUSTER.typeUrl(), "c1", List.of(eds("echo", "")));
    ads.push(Type.ENDPOINT.typeUrl(), "e1", List.of(cla("echo", echo)));
    ads.push(Type.LISTENER.typeUrl(), "l1", List.of(tcp("tcp", tcpPort, "echo")));

    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0, "127.0.0.1", 0, ProxyServer.Settings.DEFAULT_DRAIN_MILLIS, dir.resolve("no-token")),
        RuntimeConfigBuilder.build(BootstrapLoader.parse(XdsFixtures.adsBootstrap("STRICT_DNS", "localhost", adsPort) + """
            transport_socket:
              name: tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                common_tls_context: { validation_context: { trusted_ca: { filename: "%s" } } }
        """.formatted(cert.certificatePath()), false), Clock.systemUTC()));
    proxy.start();

    awaitReady();
    assertThat(exchange(tcpPort, "over a TLS stream")).isEqualTo("over a TLS stream");
    assertThat(ads.authorizations).containsExactly("null");
  }

  @Test
  void trustsTheCaFileAsItIsAtEachReconnect() throws Exception {
    SelfSignedCertificate before = SelfSignedCertificate.create("localhost");
    SelfSignedCertificate after = SelfSignedCertificate.create("localhost");
    Path ca = dir.resolve("root-cert.pem");
    Files.copy(Path.of(before.certificatePath()), ca);
    TestAdsServer ads = new TestAdsServer(before);
    cleanup.add(ads);
    int adsPort = ads.start(0);
    int echo = echoServer();
    int tcpPort = freePort();
    ads.push(Type.CLUSTER.typeUrl(), "c1", List.of(eds("echo", "")));
    ads.push(Type.ENDPOINT.typeUrl(), "e1", List.of(cla("echo", echo)));
    ads.push(Type.LISTENER.typeUrl(), "l1", List.of(tcp("tcp", tcpPort, "echo")));
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0, "127.0.0.1", 0, ProxyServer.Settings.DEFAULT_DRAIN_MILLIS, dir.resolve("no-token")),
        RuntimeConfigBuilder.build(BootstrapLoader.parse(XdsFixtures.adsBootstrap("STRICT_DNS", "localhost", adsPort) + """
            transport_socket:
              name: tls
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                common_tls_context: { validation_context: { trusted_ca: { filename: "%s" } } }
        """.formatted(ca), false), Clock.systemUTC()));
    proxy.start();
    awaitReady();

    // the operator's CA rotated while it was away: its new certificate verifies only against the rewritten file
    ads.stop();
    Files.writeString(ca, Files.readString(Path.of(after.certificatePath())));
    TestAdsServer renewed = new TestAdsServer(after);
    cleanup.add(renewed);
    renewed.start(adsPort);
    renewed.push(Type.CLUSTER.typeUrl(), "c2", List.of(eds("echo", "")));
    renewed.push(Type.ENDPOINT.typeUrl(), "e2", List.of(cla("echo", echo)));
    renewed.push(Type.LISTENER.typeUrl(), "l2", List.of(tcp("tcp", tcpPort, "echo")));
    awaitAck(renewed, 0, Type.LISTENER, "l2");
    assertThat(exchange(tcpPort, "after the rotation")).isEqualTo("after the rotation");
  }

  /** A removed listener stops accepting a moment after the update is acknowledged (its sockets close asynchronously). */
  private static void awaitRefused(int port) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      try {
        connect(port).close();
      } catch (ConnectException e) {
        return;
      }
      assertThat(System.nanoTime()).as("port " + port + " still accepts").isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static void awaitAck(TestAdsServer ads, int from, Type type, String version) throws InterruptedException {
    DiscoveryRequest ack = ads.await(from, r -> r.getTypeUrl().equals(type.typeUrl()) && r.getVersionInfo().equals(version)
        && !r.getResponseNonce().isEmpty(), "ACK of " + version);
    assertThat(ack.hasErrorDetail()).as(ack.getErrorDetail().getMessage()).isFalse();
  }

  private void awaitReady() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!proxy.ready()) {
      assertThat(System.nanoTime()).as("the proxy gets ready after its first complete xDS config").isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private int echoServer() throws IOException {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    cleanup.add(server);
    Thread t = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          Thread c = new Thread(() -> {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
              byte[] buf = new byte[8192];
              for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                out.flush();
              }
            } catch (IOException e) {
              // the client went away
            }
          }, "echo-connection");
          c.setDaemon(true);
          c.start();
        } catch (IOException e) {
          // closed at the end of the test
        }
      }
    }, "echo");
    t.setDaemon(true);
    t.start();
    return server.getLocalPort();
  }

  private int origin(String says) throws IOException {
    TestOrigin origin = new TestOrigin(says, () -> {
      // a request that is still in flight while the test changes the configuration
      slowArrived.countDown();
      try {
        Thread.sleep(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    cleanup.add(origin);
    return origin.port();
  }

  private static Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(10_000);
    return s;
  }

  private static String read(Socket s, int n) throws IOException {
    return new String(s.getInputStream().readNBytes(n), StandardCharsets.UTF_8);
  }

  private static String exchange(int port, String message) throws IOException {
    try (Socket s = connect(port)) {
      s.getOutputStream().write(message.getBytes(StandardCharsets.UTF_8));
      s.shutdownOutput();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** On a new connection each time: a connection keeps the configuration it was accepted with. */
  private String get(int port, String path) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    return res.statusCode() + " " + res.body();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
