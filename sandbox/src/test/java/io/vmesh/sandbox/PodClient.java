package io.vmesh.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.sandbox.topology.Pod;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SystemCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the namespace tests do from inside a pod with the sandbox's sample apps: echo, HTTP GET, read stats. */
final class PodClient {

  private static final Pattern LOCAL = Pattern.compile("local /([0-9.]+:\\d+) ");

  private final Pod pod;
  private final Path sandboxJar;
  private final Duration timeout;

  PodClient(Pod pod, Path sandboxJar, Duration timeout) {
    this.pod = pod;
    this.sandboxJar = sandboxJar;
    this.timeout = timeout;
  }

  SystemCommand.Result echo(RunAs as, String to, String message) {
    return pod.run(as, timeout, Artifacts.javaJar(sandboxJar, "echo-client", to, "--message", message, "--timeout-ms", "10000"));
  }

  String get(String url) {
    return pod.run(RunAs.ROOT, timeout, Artifacts.javaJar(sandboxJar, "http-get", url)).orThrow().stdout();
  }

  /** The sidecar's admin {@code /stats}, as numbers. */
  Map<String, Long> stats() {
    Map<String, Long> stats = new HashMap<>();
    get("http://127.0.0.1:15000/stats").lines().forEach(l -> {
      int colon = l.lastIndexOf(": ");
      stats.put(l.substring(0, colon), Long.parseLong(l.substring(colon + 2)));
    });
    return stats;
  }

  /** The echo client's own address, which the access log line of its connection names. */
  static String localAddress(SystemCommand.Result r) {
    Matcher m = LOCAL.matcher(r.stdout());
    assertThat(m.find()).as("client's local address in: " + r.stdout() + r.stderr()).isTrue();
    return m.group(1);
  }

  static long delta(Map<String, Long> before, Map<String, Long> after, String stat) {
    assertThat(after).as("stats").containsKey(stat);
    return after.get(stat) - before.getOrDefault(stat, 0L);
  }
}
