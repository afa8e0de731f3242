package io.vmesh.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.sandbox.topology.Pod;
import io.vmesh.sandbox.topology.PodProcess;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NeedsRootAndNetns.class)
class TopologyIT {

  @Test
  void podsReachEachOtherOverTheBridgeAndNothingTouchesTheMachinesNamespace() {
    try (Topology t = Topology.create()) {
      Pod a = t.addPod("a");
      Pod b = t.addPod("b");
      Path jar = t.stage(Jars.sandbox());
      startEcho(b, jar, "0.0.0.0", 7100);
      SystemCommand.Result r = echo(a, jar, b.ip() + ":7100", "over the bridge");
      assertThat(r.stdout()).contains("local /" + a.ip() + ":");
      // the machine's own namespace has no address of the sandbox's subnet and no link of it
      String hostAddrs = SystemCommand.check("ip", "-o", "addr").stdout();
      assertThat(hostAddrs).doesNotContain(Topology.SUBNET_PREFIX);
    }
  }

  @Test
  void dualStackPodsReachEachOtherOverIpv6AtOnce() {
    try (Topology t = Topology.create()) {
      Pod a = t.addDualStackPod("a");
      Pod b = t.addDualStackPod("b");
      Path jar = t.stage(Jars.sandbox());
      assertThat(b.ip6()).isEqualTo(Topology.SUBNET6_PREFIX + "11");
      PodProcess echo = startEcho(b, jar, "::", 7102);
      // no wait for duplicate address detection: the addresses are usable as soon as the pod exists
      echo(a, jar, "[" + b.ip6() + "]:7102", "over IPv6");
      assertThat(echo.awaitLine(l -> l.contains("accepted"), Duration.ofSeconds(10))).contains("fd88:0:0:0:0:0:0:10");
      assertThat(SystemCommand.check("ip", "-o", "addr").stdout()).doesNotContain(Topology.SUBNET6_PREFIX);
    }
  }

  @Test
  void closeRemovesNamespacesProcessesAndFiles() {
    Topology t = Topology.create();
    Pod a = t.addPod("a");
    Path jar = t.stage(Jars.sandbox());
    PodProcess echo = a.start("echo", RunAs.user(1000), Artifacts.javaJar(jar, "echo-server", "--port", "7101"));
    echo.awaitLine(l -> l.contains("listening"), Duration.ofSeconds(30));
    String prefix = t.netnsPrefix();
    Path work = t.workDir();
    assertThat(netnsList()).contains(prefix + "a", prefix + "node");

    t.close();

    assertThat(netnsList()).doesNotContain(prefix);
    assertThat(echo.isAlive()).isFalse();
    assertThat(work).doesNotExist();
  }

  @Test
  void leftoversOfADeadRunAreRemovedBeforeANewOne() throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    long deadPid = gone.pid();
    String stale = "vmesh-" + deadPid + "-1-ghost";
    Path staleDir = Path.of("/tmp/vmesh-" + deadPid + "-1");
    SystemCommand.check("ip", "netns", "add", stale);
    Files.createDirectories(staleDir);
    try (Topology t = Topology.create()) {
      assertThat(netnsList()).doesNotContain(stale).contains(t.nodeNetns());
      assertThat(staleDir).doesNotExist();
    } finally {
      SystemCommand.run(java.util.List.of("ip", "netns", "del", stale), Duration.ofSeconds(10));
    }
  }

  private static PodProcess startEcho(Pod pod, Path jar, String address, int port) {
    PodProcess echo = pod.start("echo", RunAs.user(1000),
        Artifacts.javaJar(jar, "echo-server", "--address", address, "--port", String.valueOf(port)));
    echo.awaitLine(l -> l.contains("listening"), Duration.ofSeconds(30));
    return echo;
  }

  /** Sends {@code message} from {@code from} to {@code target}; fails unless it comes back whole. */
  private static SystemCommand.Result echo(Pod from, Path jar, String target, String message) {
    SystemCommand.Result r = from.run(RunAs.user(1000), Duration.ofSeconds(30),
        Artifacts.javaJar(jar, "echo-client", target, "--message", message));
    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).endsWith("reply: " + message + "\n");
    return r;
  }

  private static String netnsList() {
    return SystemCommand.check("ip", "netns", "list").stdout();
  }
}
