package io.vmesh.sandbox;

import static io.vmesh.sandbox.BoxChecks.JSON;
import static io.vmesh.sandbox.BoxChecks.awaitKubectl;
import static io.vmesh.sandbox.BoxChecks.awaitPods;
import static io.vmesh.sandbox.BoxChecks.podName;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmesh.sandbox.cluster.MeshInABox;
import io.vmesh.sandbox.topology.SystemCommand;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mesh's lifecycle on one box start, with an application sending requests through its sidecar all along
 * (kept-alive and new connections): xDS over TLS with the CA the operator publishes in each injected namespace;
 * MeshPolicies applied, changed and deleted with kubectl, and the operator killed with SIGKILL and started again,
 * with zero failed requests; a pod created while the webhook is down under failurePolicy Ignore (admitted without
 * the sidecar, and counted as such); {@code kubectl get tc,mp} after each step. Jobs and their sidecars: {@link JobsIT}.
 */
@ExtendWith(NeedsRootAndNetns.class)
class MeshLifecycleIT {

  private static final Logger LOG = LoggerFactory.getLogger(MeshLifecycleIT.class);
  private static final Duration SETTLE = Duration.ofSeconds(120);
  private static final int WINDOW = 30;
  // kept-alive connections that still route by an older table, checked after the other steps so that they all run
  private final List<String> staleKeepAlive = new ArrayList<>();
  private final List<String> failures = new ArrayList<>();

  @Test
  void policyChangesAndOperatorRestartFailNoRequest() throws Exception {
    BoxChecks.inBox(LOG, box -> scenarios(box, Jars.repo()));
  }

  private void scenarios(MeshInABox box, Path repo) throws Exception {
    Path bookinfo = repo.resolve("samples/bookinfo-lite");
    box.kubectlOk("apply", "--validate=false", "-f", bookinfo.resolve("00-namespace.yaml").toString(),
        "-f", bookinfo.resolve("10-traffic-capture.yaml").toString());
    awaitKubectl(box, "True"::equals, "get", "tc", "bookinfo", "-n", "bookinfo", "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
    box.kubectlOk("apply", "--validate=false", "-k", bookinfo.toString());
    box.kubectlApply(versionServices());
    JsonNode pods = awaitPods(box, "bookinfo", 4);
    awaitColumns(box, "bookinfo", "bookinfo", 4, 4);

    xdsRunsOverTls(box);

    String netns = box.netnsOf("bookinfo", podName(pods, "productpage"));
    try (LoadLoop load = LoadLoop.start(netns, "reviews", 9080, "/reviews")) {
      int start = load.mark();
      // both versions answer before any policy (the Service selects both Deployments)
      load.awaitSteady(start, WINDOW * 2, l -> l.startsWith("OK "), SETTLE);
      assertThat(load.since(start).stream().map(LoadLoop::version).distinct()).contains("v1", "v2");

      policyChangesUnderLoad(box, load);
      operatorRestartUnderLoad(box, load);
      rolloutUnderLoad(box, load, bookinfo);

      Thread.sleep(2000);
      LOG.info("requests through the sidecar during all steps: {}", load.counts(start));
      failures.addAll(load.failures(start));
    }

    assertThat(failures).as("failed requests during policy changes, the operator's restart and the rollout").isEmpty();
    assertThat(staleKeepAlive).as("requests on a kept-alive connection routed by the table from before a MeshPolicy change "
        + "(an RDS update must apply to open connections, as in Envoy)").isEmpty();
  }

  /** New connections show {@code version} for a while; then a kept-alive connection's next answers must show it too. */
  private void awaitRoutedTo(LoadLoop load, String version) throws InterruptedException {
    load.awaitSteady(load.mark(), WINDOW, l -> !l.startsWith("OK new") || LoadLoop.version(l).equals(version), SETTLE);
    int settled = load.mark();
    Thread.sleep(3000);
    load.since(settled).stream().filter(l -> l.startsWith("OK keepalive") && !LoadLoop.version(l).equals(version))
        .findFirst().ifPresent(l -> staleKeepAlive.add("expected " + version + ": " + l));
  }

  /** The ConfigMap with the CA in the injected namespace, the proxies told to use it, and their streams on :15012. */
  private void xdsRunsOverTls(MeshInABox box) throws Exception {
    String caBundle = new String(Base64.getDecoder().decode(box.kubectlOk("get", "mutatingwebhookconfiguration", "vmesh-injector",
        "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}").stdout().strip()), StandardCharsets.UTF_8);
    String published = awaitKubectl(box, s -> s.contains("BEGIN CERTIFICATE"), "get", "configmap", "vmesh-ca-root-cert", "-n", "bookinfo",
        "-o", "jsonpath={.data.root-cert\\.pem}");
    assertThat(published.strip()).as("the CA bundle in bookinfo/vmesh-ca-root-cert").isEqualTo(caBundle.strip());
    JsonNode pods = JSON.readTree(box.kubectlOk("get", "pods", "-n", "bookinfo", "-o", "json").stdout());
    for (JsonNode pod : pods.path("items")) {
      List<String> env = new ArrayList<>();
      pod.path("spec").path("initContainers").forEach(c -> {
        if (c.path("name").asText().equals("vmesh-proxy")) {
          c.path("env").forEach(e -> env.add(e.path("name").asText() + "=" + e.path("value").asText()));
        }
      });
      assertThat(env).as(pod.path("metadata").path("name").asText())
          .contains("VMESH_XDS_ADDRESS=vmesh-xds.vmesh-system.svc:15012", "VMESH_XDS_CA_FILE=/var/run/secrets/vmesh/root-cert.pem");
    }
    // :15012 only speaks TLS: four synced streams on it (and none on :15010) are four verified TLS streams
    awaitSynced(box, "bookinfo", 4, Instant.EPOCH);
    List<String> tls = established(box, 15012);
    assertThat(tls).as("streams on the operator's :15012").hasSizeGreaterThanOrEqualTo(4).allMatch(l -> l.contains("10.88.0."));
    assertThat(established(box, 15010)).as("streams on the plaintext :15010").isEmpty();
    LOG.info("xDS over TLS: {} streams on :15012, none on :15010", tls.size());
  }

  /** Routes to one version, then the other with a timeout, then the policy deleted: every change seen, no request failed. */
  private void policyChangesUnderLoad(MeshInABox box, LoadLoop load) throws Exception {
    int mark = load.mark();
    box.kubectlApply(policy("v1", null));
    awaitRoutedTo(load, "v1");
    awaitKubectl(box, "True"::equals, "get", "mp", "reviews-route", "-n", "bookinfo", "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
    logColumns(box, "MeshPolicy reviews-route: all to v1");

    box.kubectlApply(policy("v2", "5s"));
    awaitRoutedTo(load, "v2");
    logColumns(box, "MeshPolicy reviews-route changed: all to v2, timeout 5s");

    box.kubectlOk("delete", "mp", "reviews-route", "-n", "bookinfo");
    int deleted = load.mark();
    load.awaitSteady(deleted, WINDOW * 2, l -> l.startsWith("OK "), SETTLE);
    Instant deadline = Instant.now().plus(SETTLE);
    while (load.since(deleted).stream().map(LoadLoop::version).filter("v1"::equals).findAny().isEmpty() && Instant.now().isBefore(deadline)) {
      Thread.sleep(300);
    }
    assertThat(load.since(deleted).stream().map(LoadLoop::version).distinct()).as("versions after the policy is deleted").contains("v1", "v2");
    logColumns(box, "MeshPolicy reviews-route deleted");
    assertThat(load.failures(mark)).as("failed requests while policies changed").isEmpty();
    LOG.info("policy changes under load: {}", load.counts(mark));
  }

  /**
   * SIGKILL to the operator; while it is away the proxies serve their last config, the webhook (now failurePolicy
   * Ignore) lets a pod in without the sidecar, and a MeshPolicy is applied; started again, the proxies reconnect,
   * resync and get that policy, and the TrafficCapture counts the pod it could not inject.
   */
  private void operatorRestartUnderLoad(MeshInABox box, LoadLoop load) throws Exception {
    int mark = load.mark();
    box.killOperator();
    LOG.info("operator killed (SIGKILL)");
    box.kubectlOk("patch", "mutatingwebhookconfiguration", "vmesh-injector", "--type=json",
        "-p=[{\"op\":\"replace\",\"path\":\"/webhooks/0/failurePolicy\",\"value\":\"Ignore\"}]");
    box.kubectlApply("""
        apiVersion: v1
        kind: Pod
        metadata:
          name: while-webhook-down
          namespace: bookinfo
          labels:
            app: while-webhook-down
            app.kubernetes.io/part-of: bookinfo-lite
        spec:
          securityContext:
            runAsUser: 1000
            runAsGroup: 1000
          containers:
          - name: app
            image: ghcr.io/vmesh/samples/reviews:0.1.0
            command: ["/usr/bin/python3", "-c", "import time; time.sleep(600)"]
        """);
    JsonNode admitted = JSON.readTree(box.kubectlOk("get", "pod", "while-webhook-down", "-n", "bookinfo", "-o", "json").stdout());
    assertThat(admitted.path("spec").path("initContainers").isMissingNode() || admitted.path("spec").path("initContainers").isEmpty())
        .as("no init containers injected: " + admitted.path("spec")).isTrue();
    assertThat(admitted.path("metadata").path("labels").has("vmesh.io/injected")).isFalse();

    box.kubectlApply(policy("v1", null));
    Thread.sleep(5000);
    assertThat(load.since(mark).stream().filter(l -> l.startsWith("OK ")).map(LoadLoop::version).distinct())
        .as("while the operator is away the proxies keep their last config (both versions)").contains("v1", "v2");

    Instant restarted = Instant.now();
    box.startOperator();
    LOG.info("operator started again");
    awaitSynced(box, "bookinfo", 4, restarted);
    awaitRoutedTo(load, "v1");
    awaitKubectl(box, "Fail"::equals, "get", "mutatingwebhookconfiguration", "vmesh-injector", "-o",
        "jsonpath={.webhooks[0].failurePolicy}");
    awaitColumns(box, "bookinfo", "bookinfo", 5, 4);
    logColumns(box, "operator restarted; the pod admitted without the webhook counted as matched, not injected");
    assertThat(load.failures(mark)).as("failed requests while the operator was away and restarting").isEmpty();
    LOG.info("operator restart under load: {}", load.counts(mark));
    box.kubectlOk("delete", "mp", "reviews-route", "-n", "bookinfo");
  }

  /**
   * {@code kubectl apply} of a changed Deployment (a strategic merge patch of its template's env): the Deployment
   * controller makes an injected pod of the new template, deletes the old one once it is ready, and the requests
   * through the sidecars keep succeeding while the endpoints move.
   */
  private void rolloutUnderLoad(MeshInABox box, LoadLoop load, Path bookinfo) throws Exception {
    int mark = load.mark();
    String before = box.kubectlOk("get", "pods", "-n", "bookinfo", "-l", "app=reviews,version=v2", "-o", "jsonpath={.items[*].metadata.name}")
        .stdout().strip();
    Path changed = box.topology().workDir().resolve("deployments-v3.yaml");
    java.nio.file.Files.writeString(changed, java.nio.file.Files.readString(bookinfo.resolve("30-deployments.yaml")).replace("value: v2", "value: v3"));
    assertThat(box.kubectlOk("apply", "--validate=false", "-f", changed.toString()).stdout()).contains("deployment.apps/reviews-v2 configured");
    String after = awaitKubectl(box, out -> !out.isEmpty() && !out.contains(before) && !out.contains(" "), "get", "pods", "-n", "bookinfo",
        "-l", "app=reviews,version=v2", "-o", "jsonpath={.items[*].metadata.name}");
    JsonNode pod = JSON.readTree(box.kubectlOk("get", "pod", after, "-n", "bookinfo", "-o", "json").stdout());
    assertThat(pod.path("metadata").path("labels").path("vmesh.io/injected").asText()).as("the new pod " + after + " is injected").isEqualTo("true");
    Instant deadline = Instant.now().plus(SETTLE);
    while (load.since(mark).stream().map(LoadLoop::version).noneMatch("v3"::equals) && Instant.now().isBefore(deadline)) {
      Thread.sleep(300);
    }
    load.awaitSteady(load.mark(), WINDOW * 2, l -> !l.contains(" new ") || l.startsWith("OK ") && !LoadLoop.version(l).equals("v2"), SETTLE);
    assertThat(load.since(mark).stream().map(LoadLoop::version).distinct()).as("versions during the rollout").contains("v1", "v3");
    logColumns(box, "the rollout of reviews-v2 (pod " + before + " replaced by " + after + ")");
    LOG.info("rollout under load: {}", load.counts(mark));
  }

  /** Services for each version of reviews, the backends a route can name. */
  private static String versionServices() {
    StringBuilder yaml = new StringBuilder();
    for (String v : List.of("v1", "v2")) {
      yaml.append("""
          apiVersion: v1
          kind: Service
          metadata:
            name: reviews-%1$s
            namespace: bookinfo
          spec:
            selector:
              app: reviews
              version: %1$s
            ports:
            - name: http
              port: 9080
          ---
          """.formatted(v));
    }
    return yaml.toString();
  }

  private static String policy(String version, String timeout) {
    return """
        apiVersion: vmesh.io/v1alpha1
        kind: MeshPolicy
        metadata:
          name: reviews-route
          namespace: bookinfo
        spec:
          selector:
            matchLabels:
              app: productpage
          http:
          - name: reviews
            match:
              hosts: [reviews]
            route:
            - service: reviews-%s
              port: 9080
        """.formatted(version) + (timeout == null ? "" : "    timeout: " + timeout + "\n");
  }

  /** The established TCP connections to the operator's {@code port} in the node namespace, one line each. */
  private static List<String> established(MeshInABox box, int port) {
    SystemCommand.Result r = box.topology().runInNode(Duration.ofSeconds(10),
        List.of("ss", "-Htn", "state", "established", "( sport = :" + port + " )"));
    return r.orThrow().stdout().lines().filter(l -> !l.isBlank()).toList();
  }

  /** Waits until the operator's /debug/syncz lists {@code count} proxies of the namespace SYNCED, connected after {@code since}. */
  private static void awaitSynced(MeshInABox box, String namespace, int count, Instant since) throws InterruptedException {
    Instant deadline = Instant.now().plus(SETTLE);
    String last = "";
    while (Instant.now().isBefore(deadline)) {
      SystemCommand.Result r = box.topology().runInNode(Duration.ofSeconds(10),
          List.of("curl", "-sS", "--max-time", "5", "http://127.0.0.1:8081/debug/syncz"));
      last = r.stdout() + r.stderr();
      if (r.ok()) {
        try {
          int synced = 0;
          for (JsonNode p : JSON.readTree(r.stdout()).path("proxies")) {
            if (p.path("namespace").asText().equals(namespace) && p.path("state").asText().equals("SYNCED")
                && Instant.parse(p.path("connectedAt").asText()).isAfter(since)) {
              synced++;
            }
          }
          if (synced == count) {
            return;
          }
        } catch (java.io.IOException | java.time.format.DateTimeParseException e) {
          last = e + ": " + last;
        }
      }
      Thread.sleep(500);
    }
    throw new AssertionError(count + " proxies of " + namespace + " not SYNCED (connected after " + since + ") within "
        + SETTLE.toSeconds() + " s; /debug/syncz: " + last);
  }

  /** Waits for a TrafficCapture's Matched and Injected columns in {@code kubectl get tc}. */
  private static void awaitColumns(MeshInABox box, String namespace, String tc, int matched, int injected) throws InterruptedException {
    awaitKubectl(box, out -> out.lines().filter(l -> l.startsWith(tc + " ")).findFirst()
        .map(l -> {
          String[] cells = l.split("\\s+");
          // NAME MODE READY REASON MATCHED INJECTED OUTDATED AGE
          return cells.length >= 7 && cells[2].equals("True") && cells[4].equals(String.valueOf(matched))
              && cells[5].equals(String.valueOf(injected));
        }).orElse(false), "get", "tc", "-n", namespace);
  }

  private static void logColumns(MeshInABox box, String step) {
    LOG.info("after {}: kubectl get tc,mp -A\n{}", step, box.kubectlOk("get", "tc,mp", "-A").stdout());
  }
}
