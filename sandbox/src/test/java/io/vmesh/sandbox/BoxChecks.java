package io.vmesh.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmesh.sandbox.cluster.MeshInABox;
import io.vmesh.sandbox.topology.SystemCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** Waits and reads shared by the mesh-in-a-box suites: kubectl until it matches, pods until Ready, pod logs for reports. */
final class BoxChecks {

  static final ObjectMapper JSON = new ObjectMapper();
  // generous: on a machine loaded by other builds the pods' JVMs start slowly
  static final Duration TIMEOUT = Duration.ofSeconds(240);
  static final int APP_UID = 1000;

  private BoxChecks() {
  }

  /** What a suite does with a started box. */
  interface Scenario {
    void run(MeshInABox box) throws Exception;
  }

  /**
   * Starts a box from the built jars (failurePolicy Fail), runs {@code scenario} in it and closes it; on a failure
   * the control plane's and the pods' logs are logged first.
   */
  static void inBox(org.slf4j.Logger log, Scenario scenario) throws Exception {
    MeshInABox.Settings settings = new MeshInABox.Settings(Jars.apiserver(), Jars.operator(), Jars.proxy(), Jars.sandbox(), Jars.repo(), "Fail");
    try (MeshInABox box = MeshInABox.start(settings)) {
      try {
        scenario.run(box);
      } catch (Exception | AssertionError e) {
        log.error("control plane:\n{}\npods:\n{}", box.logs(), podLogs(box.topology().workDir()));
        throw e;
      }
    }
  }

  /** Runs kubectl until its output satisfies {@code condition}; fails with the last output after {@link #TIMEOUT}. */
  static String awaitKubectl(MeshInABox box, Predicate<String> condition, String... args) throws InterruptedException {
    Instant deadline = Instant.now().plus(TIMEOUT);
    String last = "";
    while (Instant.now().isBefore(deadline)) {
      SystemCommand.Result r = box.kubectl(args);
      last = r.stdout().strip() + r.stderr().strip();
      if (r.ok() && condition.test(r.stdout().strip())) {
        return r.stdout().strip();
      }
      Thread.sleep(300);
    }
    throw new AssertionError("kubectl " + String.join(" ", args) + " never matched; last: " + last);
  }

  /** Exactly {@code count} pods in the namespace, all Running and Ready. */
  static JsonNode awaitPods(MeshInABox box, String namespace, int count) throws Exception {
    Instant deadline = Instant.now().plus(TIMEOUT);
    JsonNode pods = null;
    while (Instant.now().isBefore(deadline)) {
      pods = JSON.readTree(box.kubectlOk("get", "pods", "-n", namespace, "-o", "json").stdout());
      int ready = 0;
      for (JsonNode p : pods.path("items")) {
        for (JsonNode c : p.path("status").path("conditions")) {
          if (c.path("type").asText().equals("Ready") && c.path("status").asText().equals("True")
              && p.path("status").path("phase").asText().equals("Running")) {
            ready++;
          }
        }
      }
      if (ready == count && pods.path("items").size() == count) {
        return pods;
      }
      Thread.sleep(500);
    }
    throw new AssertionError(count + " pods in " + namespace + " not Running and Ready within " + TIMEOUT.toSeconds() + " s:\n"
        + box.kubectl("get", "pods", "-n", namespace, "-o", "wide").stdout() + "\n" + pods);
  }

  /**
   * A dual-stack Service as kubectl shows it: two ClusterIPs, one per family, and once its pods are ready an
   * EndpointSlice per family with ready addresses of that family (the IPv6 one from the pods' IPv6 podIPs).
   */
  static void dualStackService(MeshInABox box, String namespace, String service) throws InterruptedException {
    String families = box.kubectlOk("get", "svc", service, "-n", namespace, "-o", "jsonpath={.spec.ipFamilies[*]}").stdout().strip();
    org.assertj.core.api.Assertions.assertThat(List.of(families.split(" "))).as("ipFamilies of " + service)
        .containsExactlyInAnyOrder("IPv4", "IPv6");
    for (String family : List.of("IPv4", "IPv6")) {
      awaitKubectl(box, out -> !out.isBlank() && Stream.of(out.split(" ")).allMatch(ip -> ip.contains(":") == family.equals("IPv6")),
          "get", "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=" + service, "-o",
          "jsonpath={.items[?(@.addressType==\"" + family + "\")].endpoints[?(@.conditions.ready==true)].addresses[*]}");
    }
  }

  /** The first pod whose label {@code app} is {@code app}. */
  static String podName(JsonNode pods, String app) {
    for (JsonNode p : pods.path("items")) {
      if (app.equals(p.path("metadata").path("labels").path("app").asText())) {
        return p.path("metadata").path("name").asText();
      }
    }
    throw new AssertionError("no pod of app " + app);
  }

  /** Python code run in a pod's network namespace as the application's uid, so capture applies to it. */
  static SystemCommand.Result python(MeshInABox box, String netns, String code) {
    return box.execInPod(netns, Duration.ofSeconds(30), List.of("setpriv", "--reuid=" + APP_UID, "--regid=" + APP_UID,
        "--clear-groups", "/usr/bin/python3", "-c", code));
  }

  /** The last 40 lines of every pod's container logs, for failure reports. */
  static String podLogs(Path workDir) {
    StringBuilder out = new StringBuilder();
    try (Stream<Path> files = Files.walk(workDir.resolve("pods"))) {
      for (Path f : files.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
        List<String> lines = Files.readAllLines(f);
        out.append("---- ").append(workDir.relativize(f)).append('\n');
        lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(l -> out.append(l).append('\n'));
      }
    } catch (IOException e) {
      out.append("(no pod logs: ").append(e).append(")");
    }
    return out.toString();
  }
}
