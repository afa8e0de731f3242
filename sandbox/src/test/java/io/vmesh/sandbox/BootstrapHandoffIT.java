package io.vmesh.sandbox;

import static io.vmesh.sandbox.PodClient.delta;
import static io.vmesh.sandbox.PodClient.localAddress;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.accesslog.AccessLogLine;
import io.vmesh.sandbox.topology.Pod;
import io.vmesh.sandbox.topology.PodProcess;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The proxy run from an Envoy bootstrap file in a captured pod: a {@code bind_to_port: false} listener
 * for {@code <server>:7000} takes the app's connection over from virtualOutbound and sends it, by
 * tcp_proxy, to a STATIC cluster on the server's port 7001 (nothing listens on 7000, so a reply proves
 * the hand-off); other connections to the server are passed through; everything else hits the
 * REGISTRY_ONLY-style BlackHoleCluster; a bootstrap with an unsupported field is refused by name.
 * The server pod runs the proxy's built-in bootstrap with its port 7001 redirected to virtualInbound,
 * and accepts port 7001 only from 127.0.0.6, so every reply also proves InboundPassthroughCluster.
 */
@ExtendWith(NeedsRootAndNetns.class)
class BootstrapHandoffIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final RunAs APP = RunAs.user(1000);
  private static final RunAs PROXY = RunAs.user(1337);

  private static Topology topology;
  private static Pod app;
  private static Pod server;
  private static Path proxyJar;
  private static Path sandboxJar;
  private static PodProcess sidecar;
  private static PodProcess serverSidecar;
  private static PodClient client;
  private static String handoffListener;

  @BeforeAll
  static void startMesh() throws IOException {
    topology = Topology.create();
    app = topology.addPod("app");
    server = topology.addPod("server");
    proxyJar = topology.stage(Jars.proxy());
    sandboxJar = topology.stage(Jars.sandbox());
    client = new PodClient(app, sandboxJar, TIMEOUT);
    server.start("echo-7001", APP, Artifacts.javaJar(sandboxJar, "echo-server", "--port", "7001"))
        .awaitLine(l -> l.contains("listening"), TIMEOUT);
    handoffListener = server.ip() + "_7000";
    Path bootstrap = stageText("bootstrap.yaml", bootstrap(server.ip()));
    SystemCommand.Result capture = app.run(RunAs.ROOT, TIMEOUT, Artifacts.javaJar(proxyJar, "capture"));
    assertThat(capture.exitCode()).as(capture.stderr()).isZero();
    // inbound capture of one port by hand, and the app reachable on it only through the proxy
    server.run(RunAs.ROOT, TIMEOUT, List.of("iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "7001",
        "-j", "REDIRECT", "--to-ports", "15006")).orThrow();
    server.run(RunAs.ROOT, TIMEOUT, List.of("iptables", "-A", "INPUT", "-p", "tcp", "--dport", "7001", "!", "-s", "127.0.0.6",
        "-j", "REJECT", "--reject-with", "tcp-reset")).orThrow();
    serverSidecar = server.start("vmesh-proxy", PROXY, Artifacts.javaJar(proxyJar, "run"));
    sidecar = app.start("vmesh-proxy", PROXY, Artifacts.javaJar(proxyJar, "run", "--bootstrap", bootstrap.toString()));
    serverSidecar.awaitLine(l -> l.contains("vmesh-proxy ready"), TIMEOUT);
    sidecar.awaitLine(l -> l.contains("vmesh-proxy ready"), TIMEOUT);
  }

  @AfterAll
  static void tearDown() {
    if (topology != null) {
      topology.close();
    }
  }

  /** virtualOutbound: the server's own address passes through, anything else is refused (REGISTRY_ONLY). */
  static String bootstrap(String serverIp) {
    String tcp = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
    return """
        admin:
          address: { socket_address: { address: 127.0.0.1, port_value: 15000 } }
        static_resources:
          listeners:
          - name: virtualOutbound
            address: { socket_address: { address: 0.0.0.0, port_value: 15001 } }
            use_original_dst: true
            filter_chains:
            - name: known-server
              filter_chain_match: { prefix_ranges: [ { address_prefix: %1$s, prefix_len: 32 } ] }
              filters: [ { name: tcp, typed_config: { "@type": "%2$s", stat_prefix: PassthroughCluster, cluster: PassthroughCluster } } ]
            default_filter_chain:
              name: registry-only
              filters: [ { name: tcp, typed_config: { "@type": "%2$s", stat_prefix: BlackHoleCluster, cluster: BlackHoleCluster } } ]
          - name: %1$s_7000
            address: { socket_address: { address: %1$s, port_value: 7000 } }
            bind_to_port: false
            filter_chains:
            - filters: [ { name: tcp, typed_config: { "@type": "%2$s", stat_prefix: echo-7001, cluster: echo-7001 } } ]
          clusters:
          - { name: PassthroughCluster, type: ORIGINAL_DST, lb_policy: CLUSTER_PROVIDED, connect_timeout: 5s }
          - { name: BlackHoleCluster, type: STATIC, connect_timeout: 5s }
          - name: echo-7001
            connect_timeout: 5s
            load_assignment:
              cluster_name: echo-7001
              endpoints:
              - lb_endpoints: [ { endpoint: { address: { socket_address: { address: %1$s, port_value: 7001 } } } } ]
        """.formatted(serverIp, tcp);
  }

  @Test
  void aConnectionToAServiceAddressIsHandedToItsListenerAndItsCluster() {
    Map<String, Long> before = stats();

    SystemCommand.Result r = echo(server.ip() + ":7000", "handed off");

    assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
    assertThat(r.stdout()).endsWith("reply: handed off\n");
    assertThat(AccessLogs.awaitFrom(sidecar, localAddress(r), TIMEOUT))
        .extracting(AccessLogLine::listener, AccessLogLine::downstreamLocalAddress, AccessLogLine::upstreamCluster,
            AccessLogLine::upstreamHost, AccessLogLine::responseFlags, AccessLogLine::responseCodeDetails)
        .containsExactly(handoffListener, server.ip() + ":7000", "echo-7001", server.ip() + ":7001", "-", "-");
    Map<String, Long> after = stats();
    assertThat(delta(before, after, "listener.virtualOutbound.downstream_cx_total")).isEqualTo(1);
    assertThat(delta(before, after, "listener." + handoffListener + ".downstream_cx_total")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.echo-7001.upstream_cx_total")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.PassthroughCluster.upstream_cx_total")).isZero();
  }

  @Test
  void aDestinationWithoutAListenerFollowsTheVirtualListenersChains() {
    Map<String, Long> before = stats();

    SystemCommand.Result r = echo(server.ip() + ":7001", "passed through");

    assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
    assertThat(r.stdout()).endsWith("reply: passed through\n");
    assertThat(AccessLogs.awaitFrom(sidecar, localAddress(r), TIMEOUT))
        .extracting(AccessLogLine::listener, AccessLogLine::downstreamLocalAddress, AccessLogLine::upstreamCluster,
            AccessLogLine::responseFlags, AccessLogLine::responseCodeDetails)
        .containsExactly("virtualOutbound", server.ip() + ":7001", "PassthroughCluster", "-", "-");
    Map<String, Long> after = stats();
    assertThat(delta(before, after, "cluster.PassthroughCluster.upstream_cx_total")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.echo-7001.upstream_cx_total")).isZero();
  }

  @Test
  void theBuiltInVirtualInboundPassesConnectionsToTheAppFrom127006() {
    PodClient serverClient = new PodClient(server, sandboxJar, TIMEOUT);
    Map<String, Long> before = serverClient.stats();

    SystemCommand.Result r = echo(server.ip() + ":7001", "inbound");

    assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
    assertThat(r.stdout()).endsWith("reply: inbound\n");
    AccessLogLine inbound = AccessLogs.awaitMatching(serverSidecar,
        l -> l.listener().equals("virtualInbound") && l.bytesReceived() == 7, TIMEOUT);
    assertThat(inbound)
        .extracting(AccessLogLine::downstreamLocalAddress, AccessLogLine::upstreamCluster, AccessLogLine::responseFlags,
            AccessLogLine::responseCodeDetails)
        .containsExactly(server.ip() + ":7001", "InboundPassthroughCluster", "-", "-");
    assertThat(inbound.upstreamLocalAddress()).as("the app sees the connection come from 127.0.0.6").startsWith("127.0.0.6:");
    Map<String, Long> after = serverClient.stats();
    assertThat(delta(before, after, "listener.virtualInbound.downstream_cx_total")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.InboundPassthroughCluster.upstream_cx_total")).isEqualTo(1);
    assertThat(delta(before, after, "listener.virtualOutbound.downstream_cx_total")).isZero();
  }

  @Test
  void aDirectConnectionToVirtualInboundIsRefusedNotLooped() {
    PodClient serverClient = new PodClient(server, sandboxJar, TIMEOUT);
    Map<String, Long> before = serverClient.stats();

    SystemCommand.Result r = serverClient.echo(APP, "127.0.0.1:15006", "loop?");

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(AccessLogs.awaitFrom(serverSidecar, localAddress(r), TIMEOUT))
        .extracting(AccessLogLine::listener, AccessLogLine::downstreamLocalAddress, AccessLogLine::responseFlags,
            AccessLogLine::responseCodeDetails)
        .containsExactly("virtualInbound", "127.0.0.1:15006", "UH", "loop_refused");
    Map<String, Long> after = serverClient.stats();
    assertThat(delta(before, after, "listener.virtualInbound.downstream_cx_loop_refused")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.InboundPassthroughCluster.upstream_cx_total")).isZero();
  }

  @Test
  void anUnknownDestinationHitsTheBlackHoleAndIsClosed() {
    Map<String, Long> before = stats();

    SystemCommand.Result r = echo(Topology.GATEWAY + ":7001", "anyone?");

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.stdout()).doesNotContain("reply: anyone?");
    assertThat(AccessLogs.awaitFrom(sidecar, localAddress(r), TIMEOUT))
        .extracting(AccessLogLine::listener, AccessLogLine::downstreamLocalAddress, AccessLogLine::upstreamCluster,
            AccessLogLine::responseFlags, AccessLogLine::responseCodeDetails)
        .containsExactly("virtualOutbound", Topology.GATEWAY + ":7001", "BlackHoleCluster", "UH", "no_healthy_upstream");
    Map<String, Long> after = stats();
    assertThat(delta(before, after, "cluster.BlackHoleCluster.upstream_cx_none_healthy")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.PassthroughCluster.upstream_cx_total")).isZero();
  }

  @Test
  void adminAndHealthShowTheRunningConfiguration() {
    String dump = get("http://127.0.0.1:15000/config_dump");
    assertThat(dump).contains("\"@type\": \"type.googleapis.com/envoy.admin.v3.ListenersConfigDump\"",
        "\"name\": \"" + handoffListener + "\"", "\"bind_to_port\": false", "\"default_filter_chain\"");
    assertThat(get("http://127.0.0.1:15000/listeners"))
        .isEqualTo("virtualOutbound::0.0.0.0:15001\n" + handoffListener + "::" + server.ip() + ":7000\n");
    assertThat(get("http://127.0.0.1:15000/clusters")).contains("echo-7001::" + server.ip() + ":7001::health_flags::healthy",
        "BlackHoleCluster::type::STATIC", "PassthroughCluster::type::ORIGINAL_DST");
    assertThat(get("http://" + app.ip() + ":15021/healthz/ready")).isEqualTo("LIVE\n");
  }

  @Test
  void aBootstrapWithAnUnsupportedFieldIsRefusedByNameAndNothingStarts() throws IOException {
    Path bad = stageText("unsupported.yaml", bootstrap(server.ip()).replace("use_original_dst: true",
        "use_original_dst: true\n    per_connection_buffer_limit_bytes: 32768"));

    SystemCommand.Result r = app.run(PROXY, TIMEOUT, Artifacts.javaJar(proxyJar, "run", "--bootstrap", bad.toString()));

    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stderr()).contains(bad + ": static_resources.listeners[0].per_connection_buffer_limit_bytes: "
        + "field not supported by vmesh-proxy");
  }

  private static Path stageText(String name, String text) throws IOException {
    Path file = Files.createTempFile("vmesh-", "-" + name);
    try {
      Files.writeString(file, text);
      Path staged = topology.stage(file);
      return Files.move(staged, staged.resolveSibling(name));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static SystemCommand.Result echo(String to, String message) {
    return client.echo(APP, to, message);
  }

  private static String get(String url) {
    return client.get(url);
  }

  private static Map<String, Long> stats() {
    return client.stats();
  }
}
