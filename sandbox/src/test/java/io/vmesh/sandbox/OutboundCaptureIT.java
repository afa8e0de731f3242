package io.vmesh.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.accesslog.AccessLogLine;
import io.vmesh.sandbox.topology.Pod;
import io.vmesh.sandbox.topology.PodProcess;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The walking skeleton, for real: capture rules in pod "app", the proxy there as uid 1337, and the
 * app's outbound connection hijacked and passed through to the server in pod "server".
 */
@ExtendWith(NeedsRootAndNetns.class)
class OutboundCaptureIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final RunAs APP = RunAs.user(1000);
  private static final RunAs PROXY = RunAs.user(1337);
  private static final Pattern LOCAL = Pattern.compile("local /([0-9.]+:\\d+) ");

  private static Topology topology;
  private static Pod app;
  private static Pod server;
  private static Path proxyJar;
  private static Path sandboxJar;
  private static PodProcess sidecar;
  private static String target;

  @BeforeAll
  static void startMesh() {
    topology = Topology.create();
    app = topology.addPod("app");
    server = topology.addPod("server");
    proxyJar = topology.stage(Jars.proxy());
    sandboxJar = topology.stage(Jars.sandbox());
    server.start("echo", APP, Artifacts.javaJar(sandboxJar, "echo-server", "--port", "7000"))
        .awaitLine(l -> l.contains("listening"), TIMEOUT);
    target = server.ip() + ":7000";
    SystemCommand.Result capture = app.run(RunAs.ROOT, TIMEOUT, Artifacts.javaJar(proxyJar, "capture"));
    assertThat(capture.exitCode()).as(capture.stderr()).isZero();
    assertThat(capture.stdout()).contains("applied");
    sidecar = app.start("vmesh-proxy", PROXY, Artifacts.javaJar(proxyJar, "run"));
    sidecar.awaitLine(l -> l.contains("vmesh-proxy ready"), TIMEOUT);
  }

  @AfterAll
  static void tearDown() {
    if (topology != null) {
      topology.close();
    }
  }

  @Test
  void theAppsConnectionIsHijackedAndReachesItsOriginalDestination() {
    Map<String, Long> before = stats();
    String message = "hello through the mesh";

    SystemCommand.Result r = echo(APP, target, message);

    assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
    assertThat(r.stdout()).endsWith("reply: " + message + "\n");
    String clientAddress = localAddress(r);
    assertThat(AccessLogs.awaitFrom(sidecar, clientAddress, TIMEOUT))
        .extracting(AccessLogLine::listener, AccessLogLine::downstreamLocalAddress, AccessLogLine::upstreamCluster,
            AccessLogLine::upstreamHost, AccessLogLine::bytesReceived, AccessLogLine::bytesSent, AccessLogLine::responseFlags,
            AccessLogLine::responseCodeDetails)
        .containsExactly("virtualOutbound", target, "PassthroughCluster", target, (long) message.length(), (long) message.length(),
            "-", "-");
    Map<String, Long> after = stats();
    assertThat(delta(before, after, "listener.virtualOutbound.downstream_cx_total")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.PassthroughCluster.upstream_cx_total")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.PassthroughCluster.upstream_cx_tx_bytes_total")).isEqualTo(message.length());
    assertThat(delta(before, after, "cluster.PassthroughCluster.upstream_cx_rx_bytes_total")).isEqualTo(message.length());
  }

  @Test
  void theProxysOwnUidIsNeverCaptured() {
    Map<String, Long> before = stats();

    SystemCommand.Result r = echo(PROXY, target, "from the proxy uid");

    assertThat(r.exitCode()).as(r.stdout() + r.stderr()).isZero();
    Map<String, Long> after = stats();
    assertThat(delta(before, after, "listener.virtualOutbound.downstream_cx_total")).isZero();
    String clientAddress = localAddress(r);
    assertThat(AccessLogs.anyFrom(sidecar.stdout(), clientAddress)).isFalse();
  }

  @Test
  void aConnectionStraightToTheProxyPortIsRefusedNotLooped() {
    Map<String, Long> before = stats();

    SystemCommand.Result r = echo(APP, "127.0.0.1:15001", "loop?");

    assertThat(r.exitCode()).isEqualTo(1); // closed without a reply, promptly
    assertThat(r.stdout()).doesNotContain("reply: loop?");
    Map<String, Long> after = stats();
    assertThat(delta(before, after, "listener.virtualOutbound.downstream_cx_loop_refused")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.PassthroughCluster.upstream_cx_total")).isZero();
    String clientAddress = localAddress(r);
    assertThat(AccessLogs.awaitFrom(sidecar, clientAddress, TIMEOUT))
        .extracting(AccessLogLine::downstreamLocalAddress, AccessLogLine::responseFlags, AccessLogLine::responseCodeDetails)
        .containsExactly("127.0.0.1:15001", "UH", "loop_refused");
  }

  @Test
  void anUnreachableDestinationClosesTheAppsConnectionInsteadOfHanging() {
    Map<String, Long> before = stats();

    SystemCommand.Result r = echo(APP, server.ip() + ":7999", "anyone?");

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.stdout()).doesNotContain("reply: anyone?");
    Map<String, Long> after = stats();
    assertThat(delta(before, after, "cluster.PassthroughCluster.upstream_cx_connect_fail")).isEqualTo(1);
    String clientAddress = localAddress(r);
    assertThat(AccessLogs.awaitFrom(sidecar, clientAddress, TIMEOUT))
        .extracting(AccessLogLine::downstreamLocalAddress, AccessLogLine::responseFlags)
        .containsExactly(server.ip() + ":7999", "UF");
  }

  @Test
  void captureIsIdempotentRefusesDriftAndCleansUpOnlyItsOwnRules() {
    Pod scratch = topology.addPod("scratch");
    String foreign = "-A OUTPUT -p udp -m comment --comment \"someone else\" -j RETURN";
    scratch.run(RunAs.ROOT, TIMEOUT, List.of("iptables", "-t", "nat", "-A", "OUTPUT", "-p", "udp",
        "-m", "comment", "--comment", "someone else", "-j", "RETURN")).orThrow();

    SystemCommand.Result bad = capture(scratch, "--outbound-port", "0");
    assertThat(bad.exitCode()).isEqualTo(2);
    assertThat(bad.stderr()).contains("--outbound-port must be between 1 and 65535");
    assertThat(natRules(scratch)).doesNotContain("VMESH");

    assertThat(capture(scratch).stdout()).contains("IPv4: applied 15 rules");
    String applied = natRules(scratch);
    assertThat(applied).contains(foreign, ":VMESH_OUTPUT", "-j REDIRECT --to-ports 15001");

    SystemCommand.Result again = capture(scratch);
    assertThat(again.exitCode()).isZero();
    assertThat(again.stdout()).contains("already in place");

    SystemCommand.Result drift = capture(scratch, "--outbound-port", "15101");
    assertThat(drift.exitCode()).isEqualTo(1);
    assertThat(drift.stderr()).contains("different vmesh rules are already in this namespace; nothing changed");
    assertThat(natRules(scratch)).isEqualTo(applied);

    assertThat(capture(scratch, "--cleanup").stdout())
        .contains("removed vmesh chains [nat/VMESH_INBOUND, nat/VMESH_IN_REDIRECT, nat/VMESH_OUTPUT, nat/VMESH_REDIRECT]");
    String cleaned = natRules(scratch);
    assertThat(cleaned).doesNotContain("VMESH").contains(foreign);
  }

  private static SystemCommand.Result capture(Pod pod, String... flags) {
    return pod.run(RunAs.ROOT, TIMEOUT, Artifacts.javaJar(proxyJar, prepend("capture", flags)));
  }

  /** The nat table without iptables-save's timestamps and packet counters, which change on their own. */
  private static String natRules(Pod pod) {
    String save = pod.run(RunAs.ROOT, TIMEOUT, List.of("iptables-save", "-t", "nat")).orThrow().stdout();
    return String.join("\n", save.lines().filter(l -> l.startsWith("-A ") || l.startsWith(":VMESH")).toList());
  }

  private static SystemCommand.Result echo(RunAs as, String to, String message) {
    return app.run(as, TIMEOUT, Artifacts.javaJar(sandboxJar, "echo-client", to, "--message", message, "--timeout-ms", "15000"));
  }

  private static String localAddress(SystemCommand.Result r) {
    Matcher m = LOCAL.matcher(r.stdout());
    assertThat(m.find()).as("client's local address in: " + r.stdout() + r.stderr()).isTrue();
    return m.group(1);
  }

  private static Map<String, Long> stats() {
    String text = app.run(RunAs.ROOT, TIMEOUT, Artifacts.javaJar(sandboxJar, "http-get", "http://127.0.0.1:15000/stats"))
        .orThrow().stdout();
    Map<String, Long> stats = new HashMap<>();
    text.lines().forEach(l -> {
      int colon = l.lastIndexOf(": ");
      stats.put(l.substring(0, colon), Long.parseLong(l.substring(colon + 2)));
    });
    return stats;
  }

  private static long delta(Map<String, Long> before, Map<String, Long> after, String stat) {
    assertThat(after).as("stats").containsKey(stat);
    return after.get(stat) - before.getOrDefault(stat, 0L);
  }

  private static String[] prepend(String first, String... rest) {
    String[] all = new String[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }
}
