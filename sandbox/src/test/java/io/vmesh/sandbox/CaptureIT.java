package io.vmesh.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.sandbox.topology.Pod;
import io.vmesh.sandbox.topology.PodProcess;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code vmesh-proxy capture} in real namespaces, judged by real connections: {@code capture inspect}
 * stands where the proxy listens and prints what each captured connection looks like; the echo
 * servers print every connection that reached the app directly.
 */
@ExtendWith(NeedsRootAndNetns.class)
class CaptureIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final RunAs APP = RunAs.user(1000);
  private static final RunAs PROXY = RunAs.user(1337);
  private static final Pattern LOCAL_PORT = Pattern.compile("local /\\S*:(\\d+) -> ");

  private static Topology topology;
  private static Path proxyJar;
  private static Path sandboxJar;
  private static Pod server;
  private static Pod other;
  private static Pod app;
  private static PodProcess serverEcho;
  private static PodProcess serverEchoExcluded;
  private static PodProcess otherEcho;
  private static PodProcess appEcho;
  private static PodProcess appEchoExcluded;
  private static PodProcess appInspect;

  @BeforeAll
  static void startPods() {
    topology = Topology.create();
    proxyJar = topology.stage(Jars.proxy());
    sandboxJar = topology.stage(Jars.sandbox());
    server = topology.addDualStackPod("server");
    other = topology.addPod("other");
    app = topology.addDualStackPod("app");
    serverEcho = echoServer(server, 7000);
    serverEchoExcluded = echoServer(server, 7001);
    otherEcho = echoServer(other, 7000);
    appEcho = echoServer(app, 8080);
    appEchoExcluded = echoServer(app, 8081);
    SystemCommand.Result capture = capture(app, "--exclude-inbound-ports", "8081", "--exclude-outbound-ports", "7001",
        "--exclude-outbound-ip-ranges", other.ip());
    assertThat(capture.exitCode()).as(capture.stderr()).isZero();
    assertThat(capture.stdout()).contains("IPv4: applied", "IPv6: applied");
    appInspect = app.start("inspect", PROXY, Artifacts.javaJar(proxyJar, "capture", "inspect", "--listen", "[::]:15001,[::]:15006"));
    appInspect.awaitLine(l -> l.contains("inspect listening on [::]:15006"), TIMEOUT);
  }

  @AfterAll
  static void tearDown() {
    if (topology != null) {
      topology.close();
    }
  }

  @Test
  void outboundToAnotherPodIsCapturedWithItsOriginalDestination() {
    int port = echoOk(app, APP, server.ip() + ":7000");
    assertThat(inspected(port)).contains("listener=:15001 ", "original_dst=" + server.ip() + ":7000");
  }

  @Test
  void anExcludedOutboundPortIsNotCaptured() {
    int port = echoOk(app, APP, server.ip() + ":7001");
    reachedDirectly(serverEchoExcluded, port);
    assertThat(inspectedLines(port)).isEmpty();
  }

  @Test
  void anExcludedOutboundRangeIsNotCaptured() {
    int port = echoOk(app, APP, other.ip() + ":7000");
    reachedDirectly(otherEcho, port);
    assertThat(inspectedLines(port)).isEmpty();
  }

  @Test
  void theProxyUidIsNeverCaptured() {
    int port = echoOk(app, PROXY, server.ip() + ":7000");
    reachedDirectly(serverEcho, port);
    assertThat(inspectedLines(port)).isEmpty();
  }

  @Test
  void theAppTalkingToLocalhostOrToItsOwnPodIsNotCaptured() {
    int viaLocalhost = echoOk(app, APP, "127.0.0.1:8080");
    reachedDirectly(appEcho, viaLocalhost);
    int viaPodIp = echoOk(app, APP, app.ip() + ":8080");
    reachedDirectly(appEcho, viaPodIp);
    assertThat(inspectedLines(viaLocalhost)).isEmpty();
    assertThat(inspectedLines(viaPodIp)).isEmpty();
  }

  @Test
  void inboundToAPodPortIsRedirectedToTheInboundPortWithTheOriginalPortRecovered() {
    int port = echoOk(server, APP, app.ip() + ":8080");
    assertThat(inspected(port)).contains("listener=:15006 ", "peer=" + server.ip() + ":" + port + " ",
        "original_dst=" + app.ip() + ":8080");
  }

  @Test
  void anExcludedInboundPortReachesTheAppDirectly() {
    int port = echoOk(server, APP, app.ip() + ":8081");
    reachedDirectly(appEchoExcluded, port);
    assertThat(inspectedLines(port)).isEmpty();
  }

  @Test
  void theInboundPassthroughFrom127006ToThePodIpIsNotCapturedAgain() {
    // the proxy's own uid: without the 127.0.0.6 rule the hairpin rule would send it back to 15006
    int port = echoOk(app, PROXY, app.ip() + ":8080", "--source", "127.0.0.6");
    reachedDirectly(appEcho, port);
    assertThat(inspectedLines(port)).isEmpty();
  }

  @Test
  void theProxyDialingItsOwnPodHairpinsIntoInbound() {
    int port = echoOk(app, PROXY, app.ip() + ":8080");
    assertThat(inspected(port)).contains("listener=:15006 ", "original_dst=" + app.ip() + ":8080");
  }

  @Test
  void ipv6OutboundAndInboundAreCapturedToo() {
    String serverV6 = "[" + server.ip6() + "]";
    String appV6 = "[" + app.ip6() + "]";
    int out = echoOk(app, APP, serverV6 + ":7000");
    assertThat(inspected(out)).contains("listener=:15001 ", "original_dst=" + serverV6 + ":7000");
    int in = echoOk(server, APP, appV6 + ":8080");
    assertThat(inspected(in)).contains("listener=:15006 ", "peer=" + serverV6 + ":" + in + " ", "original_dst=" + appV6 + ":8080");
    int excluded = echoOk(app, APP, serverV6 + ":7001");
    reachedDirectly(serverEchoExcluded, excluded);
    assertThat(inspectedLines(excluded)).isEmpty();
  }

  @Test
  void tproxyInboundKeepsTheClientsSourceAndDestinationUntouched() {
    Pod tp = topology.addPod("tproxy");
    SystemCommand.Result capture = capture(tp, "--mode", "TPROXY");
    assertThat(capture.exitCode()).as(capture.stderr()).isZero();
    assertThat(tp.run(RunAs.ROOT, TIMEOUT, List.of("ip", "rule", "show")).stdout()).contains("fwmark 0x539 lookup 133");
    PodProcess inspect = tp.start("inspect", RunAs.ROOT,
        Artifacts.javaJar(proxyJar, "capture", "inspect", "--transparent", "--listen", "0.0.0.0:15001,0.0.0.0:15006"));
    inspect.awaitLine(l -> l.contains("inspect listening on 0.0.0.0:15006 (IP_TRANSPARENT)"), TIMEOUT);

    int port = echoOk(server, APP, tp.ip() + ":8080");

    // no NAT at all: the accepted socket's own addresses are the client's and the one it dialled
    assertThat(inspect.awaitLine(l -> l.contains("peer=" + server.ip() + ":" + port + " "), TIMEOUT))
        .contains("listener=:15006 ", "local=" + tp.ip() + ":8080 ");
  }

  @Test
  void validatePassesWithTheRulesAndFailsWith126WithoutThemWithinFiveSeconds() {
    Pod pod = topology.addPod("validate");
    assertThat(validate(pod).exitCode()).isEqualTo(126);
    assertThat(capture(pod).exitCode()).isZero();

    SystemCommand.Result ok = validate(pod);
    assertThat(ok.exitCode()).as(ok.stdout() + ok.stderr()).isZero();
    assertThat(ok.stdout()).contains("OK");

    assertThat(capture(pod, "--cleanup").exitCode()).isZero();
    long start = System.nanoTime();
    SystemCommand.Result failed = validate(pod);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    assertThat(failed.exitCode()).isEqualTo(126);
    assertThat(failed.stderr()).contains("FAILED");
  }

  @Test
  void aRerunChangesNothingAndCleanupLeavesIptablesSaveAsItWasInBothFamilies() {
    Pod pod = topology.addDualStackPod("rerun");
    rootIn(pod, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "udp", "-m", "comment", "--comment", "someone else", "-j", "RETURN");
    rootIn(pod, "ip6tables", "-t", "mangle", "-A", "PREROUTING", "-p", "udp", "-m", "comment", "--comment", "someone \"quoted\"", "-j", "RETURN");
    String before = rules(pod);

    assertThat(capture(pod, "--mode", "TPROXY").stdout()).contains("IPv4: applied", "IPv6: applied");
    String applied = rules(pod);
    assertThat(applied).contains("someone else", "VMESH_TPROXY", "--on-ip ::");

    SystemCommand.Result again = capture(pod, "--mode", "TPROXY");
    assertThat(again.exitCode()).isZero();
    assertThat(again.stdout()).contains("IPv4: rules already in place, nothing changed", "IPv6: rules already in place, nothing changed");
    assertThat(rules(pod)).isEqualTo(applied);

    SystemCommand.Result drift = capture(pod);
    assertThat(drift.exitCode()).isEqualTo(1);
    assertThat(drift.stderr()).contains("different vmesh rules are already in this namespace; nothing changed",
        "present, not wanted: -A VMESH_TPROXY", "wanted, not present: -A VMESH_INBOUND -p tcp -m comment");
    assertThat(rules(pod)).isEqualTo(applied);

    SystemCommand.Result reconciled = capture(pod, "--reconcile");
    assertThat(reconciled.stdout()).contains("IPv4: replaced drifted vmesh rules");
    assertThat(rules(pod)).doesNotContain("VMESH_TPROXY").contains("VMESH_IN_REDIRECT");

    SystemCommand.Result cleanup = capture(pod, "--cleanup");
    assertThat(cleanup.stdout()).contains("IPv4: removed vmesh chains", "IPv6: removed vmesh chains", "removed the TPROXY policy route");
    assertThat(rules(pod)).isEqualTo(before);
    assertThat(pod.run(RunAs.ROOT, TIMEOUT, List.of("ip", "rule", "show")).stdout()).doesNotContain("lookup 133");
  }

  @Test
  void everyKindOfRuleIsWrittenExactlyAsIptablesSavePrintsIt() {
    Pod pod = topology.addDualStackPod("format");
    String[] flags = {"--inbound-ports", "80,8080", "--outbound-ip-ranges", "10.96.0.0/12,fd00:10::/64",
        "--exclude-outbound-ip-ranges", "10.96.0.1,fd00:10::1", "--outbound-ports", "443", "--exclude-outbound-ports", "25,3306",
        "--proxy-uid", "1337,1500", "--proxy-gid", "2000", "--inbound-port", "15106", "--outbound-port", "15101"};
    for (String mode : List.of("REDIRECT", "TPROXY")) {
      List<String> args = new ArrayList<>(List.of(flags));
      args.addAll(List.of("--mode", mode, "--reconcile"));
      assertThat(capture(pod, args.toArray(String[]::new)).exitCode()).isZero();

      // equal only if each generated line is character for character what iptables-save printed back
      SystemCommand.Result again = capture(pod, args.toArray(String[]::new));

      assertThat(again.stdout()).as(mode).contains("IPv4: rules already in place", "IPv6: rules already in place");
    }
  }

  @Test
  void aDriftInTheIpv6HalfLeavesTheIpv4HalfUntouched() {
    Pod pod = topology.addDualStackPod("halfway");
    rootIn(pod, "ip6tables", "-t", "nat", "-N", "VMESH_OUTPUT");
    String before = rules(pod);

    SystemCommand.Result r = capture(pod);

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.stderr()).contains("IPv6: present chains [nat/VMESH_OUTPUT]", "wanted, not present: -A OUTPUT -p tcp")
        .doesNotContain("IPv4:").doesNotContain("present, not wanted");
    assertThat(rules(pod)).isEqualTo(before);
  }

  @Test
  void aFailureHalfWayRollsBackWhatWasAlreadyApplied() {
    Pod pod = topology.addDualStackPod("rollback");
    // ip6tables still works, but the IPv6 policy route (the very last step) cannot be added
    rootIn(pod, "sysctl", "-qw", "net.ipv6.conf.lo.disable_ipv6=1");
    String before = rules(pod);

    SystemCommand.Result r = capture(pod, "--mode", "TPROXY");

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(r.stderr()).contains("IPv6 is disabled on nexthop device", "rolled back");
    assertThat(rules(pod)).isEqualTo(before);
    assertThat(pod.run(RunAs.ROOT, TIMEOUT, List.of("ip", "-4", "rule", "show")).stdout()).doesNotContain("lookup 133");
    assertThat(pod.run(RunAs.ROOT, TIMEOUT, List.of("ip", "-6", "rule", "show")).stdout()).doesNotContain("lookup 133");
  }

  @Test
  void theLegacyBackendIsUsedWhenForcedAndDetectedAfterwards() {
    Pod pod = topology.addPod("legacy");
    assertThat(capture(pod, "--iptables", "legacy").stdout()).contains("IPv4: applied", "iptables legacy");
    assertThat(pod.run(RunAs.ROOT, TIMEOUT, List.of("iptables-legacy-save", "-t", "nat")).orThrow().stdout()).contains(":VMESH_OUTPUT");
    assertThat(pod.run(RunAs.ROOT, TIMEOUT, List.of("iptables-nft-save")).orThrow().stdout()).doesNotContain("VMESH");

    // no flag: the backend holding vmesh rules is found, and the legacy text compares equal too
    assertThat(capture(pod).stdout()).contains("IPv4: rules already in place", "iptables legacy");
    assertThat(capture(pod, "--cleanup").stdout()).contains("removed vmesh chains");
    assertThat(pod.run(RunAs.ROOT, TIMEOUT, List.of("iptables-legacy-save", "-t", "nat")).orThrow().stdout()).doesNotContain("VMESH");
  }

  @Test
  void aBadOptionChangesNothing() {
    Pod pod = topology.addPod("badopt");
    String before = rules(pod);
    SystemCommand.Result r = capture(pod, "--inbound-ports", "8080", "--exclude-inbound-ports", "22");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stderr()).contains("--exclude-inbound-ports applies only with --inbound-ports '*'");
    assertThat(rules(pod)).isEqualTo(before);
  }

  private static PodProcess echoServer(Pod pod, int port) {
    PodProcess p = pod.start("echo-" + port, APP, Artifacts.javaJar(sandboxJar, "echo-server", "--address", "::", "--port", String.valueOf(port)));
    p.awaitLine(l -> l.contains("listening"), TIMEOUT);
    return p;
  }

  /** Runs the echo client and returns its local port, failing unless the echo came back whole. */
  private static int echoOk(Pod from, RunAs as, String to, String... extra) {
    List<String> args = new ArrayList<>(List.of("echo-client", to, "--message", "through capture", "--timeout-ms", "10000"));
    args.addAll(List.of(extra));
    SystemCommand.Result r = from.run(as, TIMEOUT, Artifacts.javaJar(sandboxJar, args.toArray(String[]::new)));
    assertThat(r.exitCode()).as(to + ": " + r.stdout() + r.stderr()).isZero();
    Matcher m = LOCAL_PORT.matcher(r.stdout());
    assertThat(m.find()).as("local port in " + r.stdout()).isTrue();
    return Integer.parseInt(m.group(1));
  }

  /** The inspect line of the connection from {@code clientPort}: it was captured. */
  private static String inspected(int clientPort) {
    return appInspect.awaitLine(l -> l.startsWith("inspect accepted") && l.contains(":" + clientPort + " local="), TIMEOUT);
  }

  private static List<String> inspectedLines(int clientPort) {
    return appInspect.stdout().stream().filter(l -> l.contains(":" + clientPort + " local=")).toList();
  }

  /** The app itself accepted the connection from {@code clientPort}: it was not captured. */
  private static void reachedDirectly(PodProcess echo, int clientPort) {
    echo.awaitLine(l -> l.startsWith("echo-server accepted") && l.matches(".* peer=\\S*:" + clientPort + " .*"), TIMEOUT);
  }

  private static SystemCommand.Result capture(Pod pod, String... flags) {
    List<String> args = new ArrayList<>(List.of("capture"));
    args.addAll(List.of(flags));
    return pod.run(RunAs.ROOT, TIMEOUT, Artifacts.javaJar(proxyJar, args.toArray(String[]::new)));
  }

  private static SystemCommand.Result validate(Pod pod) {
    return pod.run(PROXY, TIMEOUT, Artifacts.javaJar(proxyJar, "capture", "validate"));
  }

  private static void rootIn(Pod pod, String... command) {
    pod.run(RunAs.ROOT, TIMEOUT, List.of(command)).orThrow();
  }

  /**
   * Both families' tables without iptables-save's timestamps and counters, which change on their own,
   * and without tables that hold nothing (no rule, no own chain, only ACCEPT policies): the nft backend
   * keeps a table once it was used, and an empty one behaves exactly like none.
   */
  private static String rules(Pod pod) {
    StringBuilder sb = new StringBuilder();
    for (String tool : List.of("iptables-save", "ip6tables-save")) {
      String save = pod.run(RunAs.ROOT, TIMEOUT, List.of(tool)).orThrow().stdout();
      sb.append(tool).append('\n');
      for (String table : save.split("(?m)^COMMIT$")) {
        List<String> lines = table.lines().filter(l -> !l.startsWith("#") && !l.isBlank())
            .map(l -> l.replaceAll(" \\[\\d+:\\d+\\]$", "")).toList();
        boolean empty = lines.stream().allMatch(l -> l.startsWith("*") || l.matches(":[A-Z]+ ACCEPT"));
        if (!empty) {
          lines.forEach(l -> sb.append(l).append('\n'));
          sb.append("COMMIT\n");
        }
      }
    }
    return sb.toString();
  }
}
