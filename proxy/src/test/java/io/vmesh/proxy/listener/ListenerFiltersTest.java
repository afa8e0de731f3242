package io.vmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import io.vmesh.proxy.ProxyServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * tls_inspector and http_inspector in the running proxy, on loopback: chains chosen by SNI and by the
 * sniffed protocol, the sniffed bytes delivered upstream untouched, the timeout with and without
 * continue, and a listener (or a destination of it) whose chains need no sniffing never waiting for a
 * server-first protocol.
 */
class ListenerFiltersTest {

  private static final String TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
  private static final String FILTERS = """
      listener_filters:
          - { name: tls, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector } }
          - { name: http, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector } }
          listener_filters_timeout: 0.3s""";

  private final List<Backend> backends = new ArrayList<>();
  private Backend tlsA;
  private Backend http;
  private Backend banner;
  private ProxyServer proxy;
  private int sniffing;
  private int portsOnly;
  private int strict;
  private int byDestination;
  private int admin;

  @BeforeEach
  void start() throws Exception {
    tlsA = backend(null);
    http = backend(null);
    banner = backend("220 ready\r\n");
    sniffing = freePort();
    portsOnly = freePort();
    strict = freePort();
    byDestination = freePort();
    admin = freePort();
    String yaml = """
        admin: { address: { socket_address: { address: 127.0.0.1, port_value: %1$d } } }
        static_resources:
          listeners:
          - name: sniffing
            address: { socket_address: { address: 127.0.0.1, port_value: %2$d } }
            %5$s
            continue_on_listener_filters_timeout: true
            filter_chains:
            - filter_chain_match: { server_names: [ a.example.com ] }
              filters: [ { name: t, typed_config: { "@type": "%6$s", stat_prefix: s, cluster: tls-a } } ]
            - filter_chain_match: { application_protocols: [ http/1.1, h2c ] }
              filters: [ { name: t, typed_config: { "@type": "%6$s", stat_prefix: s, cluster: http } } ]
            default_filter_chain:
              filters: [ { name: t, typed_config: { "@type": "%6$s", stat_prefix: s, cluster: banner } } ]
          - name: ports-only
            address: { socket_address: { address: 127.0.0.1, port_value: %3$d } }
            %5$s
            filter_chains:
            - filter_chain_match: { destination_port: %3$d }
              filters: [ { name: t, typed_config: { "@type": "%6$s", stat_prefix: s, cluster: banner } } ]
          - name: strict
            address: { socket_address: { address: 127.0.0.1, port_value: %4$d } }
            %5$s
            filter_chains:
            - filter_chain_match: { transport_protocol: tls }
              filters: [ { name: t, typed_config: { "@type": "%6$s", stat_prefix: s, cluster: tls-a } } ]
            default_filter_chain:
              filters: [ { name: t, typed_config: { "@type": "%6$s", stat_prefix: s, cluster: banner } } ]
          - name: by-destination
            address: { socket_address: { address: 0.0.0.0, port_value: %10$d } }
            %5$s
            filter_chains:
            - filter_chain_match: { prefix_ranges: [ { address_prefix: 127.0.0.2, prefix_len: 32 } ] }
              filters: [ { name: t, typed_config: { "@type": "%6$s", stat_prefix: s, cluster: banner } } ]
            - filter_chain_match: { prefix_ranges: [ { address_prefix: 127.0.0.1, prefix_len: 32 } ], application_protocols: [ http/1.1 ] }
              filters: [ { name: t, typed_config: { "@type": "%6$s", stat_prefix: s, cluster: http } } ]
            - filter_chain_match: { prefix_ranges: [ { address_prefix: 127.0.0.1, prefix_len: 32 } ] }
              filters: [ { name: t, typed_config: { "@type": "%6$s", stat_prefix: s, cluster: banner } } ]
          clusters:
          - %7$s
          - %8$s
          - %9$s
        """.formatted(admin, sniffing, portsOnly, strict, FILTERS, TCP,
        tlsA.cluster("tls-a"), http.cluster("http"), banner.cluster("banner"), byDestination);
    RuntimeConfig config = RuntimeConfigBuilder.build(BootstrapLoader.parse(yaml, false), Clock.systemUTC());
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0), config);
    proxy.start();
  }

  @AfterEach
  void stop() throws IOException {
    if (proxy != null) {
      proxy.stop();
    }
    for (Backend b : backends) {
      b.server.close();
    }
  }

  @Test
  void aClientHelloSplitOverSegmentsChoosesTheChainBySniAndArrivesWhole() throws Exception {
    byte[] hello = SnifferTest.clientHello("a.example.com", "h2");

    byte[] echoed = exchange(sniffing, Arrays.copyOf(hello, 7), Arrays.copyOfRange(hello, 7, 60),
        Arrays.copyOfRange(hello, 60, hello.length));

    assertThat(echoed).isEqualTo(hello);
    assertThat(tlsA.accepted.get()).isEqualTo(1);
    assertThat(http.accepted.get() + banner.accepted.get()).isZero();
  }

  @Test
  void plaintextHttpOneAndTwoChooseTheHttpChain() throws Exception {
    String request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    String preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    assertThat(text(exchange(sniffing, bytes("GET / HT"), bytes(request.substring(8))))).isEqualTo(request);
    assertThat(text(exchange(sniffing, bytes(preface)))).isEqualTo(preface);

    assertThat(http.accepted.get()).isEqualTo(2);
    assertThat(tlsA.accepted.get() + banner.accepted.get()).isZero();
  }

  @Test
  void aClientThatWaitsForTheServerIsMatchedAfterTheTimeoutWhenContinuing() throws Exception {
    assertThat(text(exchange(sniffing))).isEqualTo("220 ready\r\n");
    assertThat(stat("listener.sniffing.downstream_pre_cx_timeout")).isEqualTo(1);
    assertThat(banner.accepted.get()).isEqualTo(1);
  }

  @Test
  void withoutContinueTheTimeoutClosesTheConnection() throws Exception {
    try (Socket s = connect(strict)) {
      assertThat(s.getInputStream().read()).as("closed, nothing relayed").isEqualTo(-1);
    }
    assertThat(stat("listener.strict.downstream_pre_cx_timeout")).isEqualTo(1);
    assertThat(banner.accepted.get()).isZero();
  }

  @Test
  void aListenerWhoseChainsNeedNoSniffingDoesNotWait() throws Exception {
    // same inspectors and timeout as "strict", without continue: had it sniffed, the timeout would close it
    try (Socket s = connect(portsOnly)) {
      byte[] line = new byte[11];
      int n = s.getInputStream().readNBytes(line, 0, line.length);
      assertThat(text(Arrays.copyOf(line, n))).isEqualTo("220 ready\r\n");
    }
    assertThat(stat("listener.ports-only.downstream_pre_cx_timeout")).isZero();
  }

  @Test
  void aDestinationWhoseReachableChainsNeedNoSniffingDoesNotWaitWhileAnotherOnTheSameListenerDoes() throws Exception {
    // 127.0.0.2 reaches only a plain TCP chain; 127.0.0.1 reaches one that matches application protocols.
    // Without continue, a wait would end in the timeout's close and no greeting.
    long started = System.nanoTime();
    try (Socket s = connect("127.0.0.2", byDestination)) {
      byte[] line = new byte[11];
      int n = s.getInputStream().readNBytes(line, 0, line.length);
      assertThat(text(Arrays.copyOf(line, n))).isEqualTo("220 ready\r\n");
    }
    assertThat((System.nanoTime() - started) / 1_000_000).as("ms until the server's greeting").isLessThan(1000);
    assertThat(stat("listener.by-destination.downstream_pre_cx_timeout")).isZero();

    String request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assertThat(text(exchange(byDestination, bytes(request)))).isEqualTo(request);
    assertThat(http.accepted.get()).isEqualTo(1);
    try (Socket s = connect("127.0.0.1", byDestination)) {
      assertThat(s.getInputStream().read()).as("sniffed, timed out, closed: nothing relayed").isEqualTo(-1);
    }
    assertThat(stat("listener.by-destination.downstream_pre_cx_timeout")).isEqualTo(1);
    assertThat(banner.accepted.get()).isEqualTo(1);
  }

  @Test
  void aFinWhileSniffingEndsTheWaitAndFollowsTheBytesUpstream() throws Exception {
    assertThat(text(exchange(strict, bytes("GE")))).isEqualTo("220 ready\r\nGE");
    assertThat(stat("listener.strict.downstream_pre_cx_timeout")).isZero();
  }

  /** Writes each part (a separate TCP segment, with a pause), shuts down output, reads to the end. */
  private byte[] exchange(int port, byte[]... parts) throws Exception {
    try (Socket s = connect(port)) {
      s.setTcpNoDelay(true);
      OutputStream out = s.getOutputStream();
      for (byte[] part : parts) {
        out.write(part);
        out.flush();
        Thread.sleep(30);
      }
      if (parts.length > 0) {
        s.shutdownOutput();
      }
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[8192];
      for (int n; (n = in.read(buf)) > 0; ) {
        got.write(buf, 0, n);
        if (parts.length == 0) {
          break;
        }
      }
      return got.toByteArray();
    }
  }

  private static Socket connect(int port) throws IOException {
    return connect("127.0.0.1", port);
  }

  private static Socket connect(String ip, int port) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress(ip, port), 5000);
    s.setSoTimeout(5000);
    return s;
  }

  private long stat(String name) throws IOException {
    String text = new String(new java.net.URL("http://127.0.0.1:" + admin + "/stats").openStream().readAllBytes(), StandardCharsets.UTF_8);
    return text.lines().filter(l -> l.startsWith(name + ": ")).mapToLong(l -> Long.parseLong(l.substring(name.length() + 2)))
        .findFirst().orElseThrow(() -> new AssertionError("no stat " + name + " in\n" + text));
  }

  private Backend backend(String greeting) throws IOException {
    Backend b = new Backend(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), greeting);
    backends.add(b);
    Thread t = new Thread(b::serve, "backend-" + b.server.getLocalPort());
    t.setDaemon(true);
    t.start();
    return b;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.ISO_8859_1);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** An upstream that optionally greets first, then echoes until the client's FIN. */
  private record Backend(ServerSocket server, String greeting, AtomicInteger accepted) {
    Backend(ServerSocket server, String greeting) {
      this(server, greeting, new AtomicInteger());
    }

    String cluster(String name) {
      return "{ name: %s, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: "
          .formatted(name) + "{ address: 127.0.0.1, port_value: " + server.getLocalPort() + " } } } } ] } ] } }";
    }

    void serve() {
      while (!server.isClosed()) {
        try (Socket s = server.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
          accepted.incrementAndGet();
          if (greeting != null) {
            out.write(greeting.getBytes(StandardCharsets.US_ASCII));
            out.flush();
          }
          in.transferTo(out);
        } catch (IOException e) {
          // closed at the end of the test, or the client went away
        }
      }
    }
  }
}
