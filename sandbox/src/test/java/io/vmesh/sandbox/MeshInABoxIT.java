package io.vmesh.sandbox;

import static io.vmesh.sandbox.BoxChecks.JSON;
import static io.vmesh.sandbox.BoxChecks.awaitKubectl;
import static io.vmesh.sandbox.BoxChecks.awaitPods;
import static io.vmesh.sandbox.BoxChecks.podLogs;
import static io.vmesh.sandbox.BoxChecks.podName;
import static io.vmesh.sandbox.BoxChecks.python;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmesh.proxy.accesslog.AccessLogLine;
import io.vmesh.sandbox.cluster.MeshInABox;
import io.vmesh.sandbox.topology.SystemCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole box for real: API server, operator (webhook, leader election) and node agent in the node namespace,
 * bookinfo-lite applied with kubectl, every pod injected through the webhook and run by the kubelet, a request by
 * Service name through the sidecar, the server-first TCP service through capture, the TrafficCapture's columns,
 * a pod refused while the webhook is down, and nothing left afterwards.
 */
@ExtendWith(NeedsRootAndNetns.class)
class MeshInABoxIT {

  private static final Logger LOG = LoggerFactory.getLogger(MeshInABoxIT.class);

  @Test
  void bookinfoLiteRunsInjectedAndNothingIsLeftBehind() throws Exception {
    Path repo = Jars.repo();
    MeshInABox.Settings settings = new MeshInABox.Settings(Jars.apiserver(), Jars.operator(), Jars.proxy(), Jars.sandbox(), repo, "Fail");
    String prefix;
    Path workDir;
    try (MeshInABox box = MeshInABox.start(settings)) {
      prefix = box.topology().netnsPrefix();
      workDir = box.topology().workDir();
      try {
        scenario(box, repo);
      } catch (Exception | AssertionError e) {
        LOG.error("control plane:\n{}\npods:\n{}", box.logs(), podLogs(workDir));
        throw e;
      }
    }
    assertThat(SystemCommand.check("ip", "netns", "list").stdout()).as("namespaces left").doesNotContain(prefix);
    try (Stream<Path> etc = Files.list(Path.of("/etc/netns"))) {
      assertThat(etc.map(p -> p.getFileName().toString())).as("/etc/netns left").noneMatch(n -> n.startsWith(prefix));
    } catch (java.nio.file.NoSuchFileException e) {
      // no /etc/netns at all: nothing left
    }
    assertThat(workDir).doesNotExist();
    List<String> leftovers = ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().map(c -> c.contains(workDir.toString())).orElse(false))
        .map(p -> p.pid() + " " + p.info().commandLine().orElse("")).toList();
    assertThat(leftovers).as("processes left").isEmpty();
  }

  private void scenario(MeshInABox box, Path repo) throws Exception {
    Path bookinfo = repo.resolve("samples/bookinfo-lite");
    // the webhook reads TrafficCaptures from its cache: have it see the capture before the first pod is made
    box.kubectlOk("apply", "--validate=false", "-f", bookinfo.resolve("00-namespace.yaml").toString(),
        "-f", bookinfo.resolve("10-traffic-capture.yaml").toString());
    awaitKubectl(box, out -> out.equals("True"), "get", "tc", "bookinfo", "-n", "bookinfo", "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
    box.kubectlOk("apply", "--validate=false", "-k", bookinfo.toString());

    JsonNode pods = awaitPods(box, "bookinfo", 4);
    for (JsonNode pod : pods.path("items")) {
      String name = pod.path("metadata").path("name").asText();
      List<String> inits = new ArrayList<>();
      pod.path("spec").path("initContainers").forEach(c -> inits.add(c.path("name").asText()));
      assertThat(inits).as("init containers of " + name).startsWith("vmesh-init", "vmesh-proxy");
      assertThat(pod.path("metadata").path("labels").path("vmesh.io/injected").asText()).as(name).isEqualTo("true");
      assertThat(pod.path("status").path("podIP").asText()).as(name).startsWith("10.88.0.");
      assertThat(pod.path("spec").path("nodeName").asText()).isEqualTo("vmesh-node");
    }

    // the endpoint controller writes a slice after it sees the pod Ready, a moment after kubectl does
    awaitKubectl(box, out -> {
      try {
        JsonNode all = JSON.readTree(out);
        return readyEndpoints(all, "reviews") == 2 && readyEndpoints(all, "details") == 1 && readyEndpoints(all, "productpage") == 1;
      } catch (java.io.IOException e) {
        return false;
      }
    }, "get", "endpointslices", "-n", "bookinfo", "-o", "json");
    JsonNode slices = JSON.readTree(box.kubectlOk("get", "endpointslices", "-n", "bookinfo", "-o", "json").stdout());
    assertThat(readyEndpoints(slices, "reviews")).as("reviews endpoints").isEqualTo(2);
    assertThat(readyEndpoints(slices, "details")).as("details endpoints").isEqualTo(1);
    assertThat(readyEndpoints(slices, "productpage")).as("productpage endpoints").isEqualTo(1);

    String productpage = podName(pods, "productpage");
    String netns = box.netnsOf("bookinfo", productpage);
    String reviewsIp = box.kubectlOk("get", "svc", "reviews", "-n", "bookinfo", "-o", "jsonpath={.spec.clusterIP}").stdout().strip();
    assertThat(reviewsIp).startsWith("10.96.");

    // by name, as the app: /etc/hosts of the pod names the ClusterIP; capture sends it through the sidecar
    SystemCommand.Result byName = python(box, netns, "import urllib.request;print(urllib.request.urlopen('http://reviews:9080/reviews',timeout=10).read().decode())");
    assertThat(byName.stdout()).as(byName.stderr()).contains("reviews v");
    Path proxyLog = box.podLogs("bookinfo", productpage).resolve("vmesh-proxy.log");
    awaitFile(proxyLog, l -> reached(l, reviewsIp + ":9080"));

    // the frontend calls reviews (HTTP) and details (server speaks first, TCP) through capture
    SystemCommand.Result page = python(box, netns, "import urllib.request;print(urllib.request.urlopen('http://productpage:9080/productpage',timeout=20).read().decode())");
    assertThat(page.stdout()).as(page.stderr()).contains("reviews: reviews v").contains("details: details v1 ready / book 0: 200 pages");
    String detailsIp = box.kubectlOk("get", "svc", "details", "-n", "bookinfo", "-o", "jsonpath={.spec.clusterIP}").stdout().strip();
    awaitFile(proxyLog, l -> reached(l, detailsIp + ":9091"));

    // a server outside the mesh: passed through (the default outbound policy is ALLOW_ANY)
    SystemCommand.Result external = python(box, netns, "import urllib.request;print(urllib.request.urlopen('"
        + MeshInABox.externalUrl() + "',timeout=10).read().decode())");
    assertThat(external.stdout()).as(external.stderr()).contains("external server: / from 10.88.0.");
    awaitFile(proxyLog, l -> reached(l, "192.0.2.10:80"));

    String tc = box.kubectlOk("get", "tc", "-n", "bookinfo").stdout();
    LOG.info("kubectl get tc:\n{}", tc);
    String row = tc.lines().filter(l -> l.startsWith("bookinfo ")).findFirst().orElseThrow();
    assertThat(row.split("\\s+")).contains("True").containsSubsequence("4", "4");

    // an image the box has no program for waits like a failed pull, visible in the status
    box.kubectlApply("""
        apiVersion: v1
        kind: Pod
        metadata:
          name: no-such-image
          namespace: default
        spec:
          containers:
          - name: app
            image: example.org/no-such-image:1.0
        """);
    awaitKubectl(box, out -> out.equals("ErrImagePull") || out.equals("ImagePullBackOff"), "get", "pod", "no-such-image", "-n", "default",
        "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}");

    // the kubelet's lifecycle with plain programs: an init container to completion, a native sidecar restarted
    // whenever it exits, the app as the uid its securityContext says with downward API values and $(VAR) expansion
    box.kubectlApply("""
        apiVersion: v1
        kind: Pod
        metadata:
          name: lifecycle
          namespace: default
        spec:
          securityContext:
            runAsUser: 1000
            runAsGroup: 1000
          initContainers:
          - name: init
            image: ghcr.io/vmesh/samples/reviews:0.1.0
            command: ["sh", "-c", "echo init done"]
          - name: sidecar
            image: ghcr.io/vmesh/samples/reviews:0.1.0
            restartPolicy: Always
            command: ["sh", "-c", "sleep 1; exit 3"]
          containers:
          - name: app
            image: ghcr.io/vmesh/samples/reviews:0.1.0
            command: ["sh", "-c", "echo pod=$(POD) ip=$(IP) uid=$(id -u); exec sleep 300"]
            env:
            - name: POD
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: IP
              valueFrom:
                fieldRef:
                  fieldPath: status.podIP
        """);
    awaitKubectl(box, out -> out.matches("[1-9]\\d*"), "get", "pod", "lifecycle", "-n", "default",
        "-o", "jsonpath={.status.initContainerStatuses[1].restartCount}");
    assertThat(box.kubectlOk("get", "pod", "lifecycle", "-n", "default", "-o",
        "jsonpath={.status.initContainerStatuses[0].state.terminated.reason}").stdout()).isEqualTo("Completed");
    String lifecycleIp = box.kubectlOk("get", "pod", "lifecycle", "-n", "default", "-o", "jsonpath={.status.podIP}").stdout().strip();
    awaitFile(box.podLogs("default", "lifecycle").resolve("app.log"), l -> l.equals("pod=lifecycle ip=" + lifecycleIp + " uid=1000"));

    // deleting a pod stops it (preStop, SIGTERM) and removes its namespace; its Deployment makes a new one
    String details = podName(pods, "details");
    String detailsNetns = box.netnsOf("bookinfo", details);
    box.kubectlOk("delete", "pod", details, "-n", "bookinfo", "--wait=false");
    Instant gone = Instant.now().plus(Duration.ofSeconds(60));
    while (netnsExists(detailsNetns) && Instant.now().isBefore(gone)) {
      Thread.sleep(300);
    }
    assertThat(netnsExists(detailsNetns)).as(detailsNetns + " still there").isFalse();
    assertThat(Path.of("/etc/netns", detailsNetns)).doesNotExist();
    awaitKubectl(box, out -> out.startsWith("details-") && !out.contains(details), "get", "pods", "-n", "bookinfo", "-l", "app=details",
        "-o", "jsonpath={.items[*].metadata.name}");

    // failurePolicy Fail: with the webhook down, a pod in an injected namespace is refused, saying why
    box.stopOperator();
    Path pod = Files.createTempFile("vmesh-it-pod", ".yaml");
    try {
      Files.writeString(pod, """
          apiVersion: v1
          kind: Pod
          metadata:
            name: while-webhook-down
            namespace: bookinfo
            labels:
              app.kubernetes.io/part-of: bookinfo-lite
          spec:
            containers:
            - name: reviews
              image: ghcr.io/vmesh/samples/reviews:0.1.0
          """);
      SystemCommand.Result refused = box.kubectl("apply", "--validate=false", "-f", pod.toString());
      assertThat(refused.exitCode()).as(refused.stdout()).isNotZero();
      assertThat(refused.stderr()).contains("failed calling webhook \"inject.vmesh.io\"").contains("vmesh-webhook.vmesh-system.svc:443");
      assertThat(box.kubectl("get", "pod", "while-webhook-down", "-n", "bookinfo").ok()).isFalse();
    } finally {
      Files.deleteIfExists(pod);
    }
  }

  /** An access-log line of a connection captured on its way to {@code destination} that ended without a failure flag. */
  private static boolean reached(String line, String destination) {
    return AccessLogLine.parse(line).filter(a -> a.downstreamLocalAddress().equals(destination) && a.responseFlags().equals("-"))
        .isPresent();
  }

  private static boolean netnsExists(String name) {
    return SystemCommand.check("ip", "netns", "list").stdout().lines().anyMatch(l -> l.split(" ")[0].equals(name));
  }

  private static void awaitFile(Path file, Predicate<String> line) throws Exception {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (Instant.now().isBefore(deadline)) {
      if (Files.exists(file) && Files.readAllLines(file).stream().anyMatch(line)) {
        return;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no such line in " + file + ":\n" + (Files.exists(file) ? Files.readString(file) : "(missing)"));
  }

  private static int readyEndpoints(JsonNode slices, String service) {
    int n = 0;
    for (JsonNode s : slices.path("items")) {
      if (service.equals(s.path("metadata").path("labels").path("kubernetes.io/service-name").asText())) {
        for (JsonNode e : s.path("endpoints")) {
          if (e.path("conditions").path("ready").asBoolean()) {
            n++;
          }
        }
      }
    }
    return n;
  }
}
