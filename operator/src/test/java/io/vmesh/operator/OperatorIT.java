package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.inject.InjectionStatus;
import io.vmesh.operator.inject.SpecHash;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vmesh.operator.xds.AdsTestClient;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.vmesh.operator.xds.ProxyId;
import io.vmesh.operator.xds.ProxySnapshot;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End to end: the embedded API server and the operator as processes, driven by the real kubectl, the way a
 * user drives a cluster. Ready, invalid and conflicting resources show their status in {@code kubectl get}.
 */
class OperatorIT {

  private static final Logger LOG = LoggerFactory.getLogger(OperatorIT.class);
  private static final Path REPO = Path.of(System.getProperty("vmesh.repo.dir", ".."));
  private static final Duration RECONCILED_WITHIN = Duration.ofSeconds(30);

  @TempDir
  Path dir;

  @Test
  void kubectlGetShowsReadyInvalidAndConflictedResources() throws Exception {
    Kubectl.requireOnPath();
    try (JarProcess apiserver = JarProcess.start("apiserver", jar("vmesh.apiserver.jar"), dir, Map.of(),
        "--port", "0", "--kubeconfig-out", dir.resolve("kubeconfig").toString())) {
      apiserver.await(Pattern.compile("vmesh-apiserver ready: "), Duration.ofSeconds(30));
      Kubectl kubectl = new Kubectl(dir.resolve("kubeconfig"));
      kubectl.ok("apply", "--validate=false", "-f", REPO.resolve("crds").toString());
      kubectl.ok("create", "--validate=false", "-f", fixtures().toString());

      try (JarProcess operator = JarProcess.start("operator", jar("vmesh.operator.jar"), dir,
          Map.of("KUBECONFIG", dir.resolve("kubeconfig").toString()),
          "run", "--namespace", "vmesh-system",
          "--health-address", "127.0.0.1", "--health-port", "0",
          "--xds-listen-address", "127.0.0.1", "--xds-port", "0", "--xds-tls-port", "0")) {
        try {
          scenario(kubectl, operator);
          // SIGTERM ends it promptly, the Lease released (JOSDK's exit-on-stop-leading once deadlocked our shutdown hook)
          operator.terminate(Duration.ofSeconds(20));
          assertThat(operator.log()).contains("Stopped leading");
        } catch (Exception | AssertionError e) {
          // the temporary directory goes away with the test: keep the processes' logs in the report
          LOG.error("operator log:\n{}\napiserver log:\n{}", operator.log(), apiserver.log());
          throw e;
        }
      }
    }
  }

  private void scenario(Kubectl kubectl, JarProcess operator) throws Exception {
    operatorIsReady(operator);
    // leader election runs as in production: this replica holds the Lease
    assertThat(kubectl.ok("get", "lease", "-n", "vmesh-system", "-o", "jsonpath={.items[*].spec.holderIdentity}"))
        .isNotBlank();

    kubectl.ok("apply", "--validate=false", "-n", "demo",
        "-f", sample("traffic-capture.yaml"), "-f", sample("mesh-policy.yaml"), "-f", sample("mesh-policy-invalid.yaml"));
    kubectl.ok("apply", "--validate=false", "-n", "demo", "-f", sample("mesh-policy-conflicting.yaml"));
    // a second capture over every pod of the namespace: newer (and later by name), so it is the one that reports
    Path everything = Files.writeString(dir.resolve("capture-everything.yaml"),
        "{\"apiVersion\": \"vmesh.io/v1alpha1\", \"kind\": \"TrafficCapture\", \"metadata\": {\"name\": \"web-everything\"},"
            + " \"spec\": {\"mode\": \"REDIRECT\"}}");
    kubectl.ok("apply", "--validate=false", "-n", "demo", "-f", everything.toString());

    Map<String, Map<String, String>> rows = awaitTable(kubectl, rowsSettle(5));
    assertThat(rows.get("trafficcapture.vmesh.io/web")).containsAllEntriesOf(Map.of(
        "MODE", "REDIRECT", "READY", "True", "REASON", "Reconciled", "MATCHED", "3", "INJECTED", "2", "OUTDATED", "1"));
    assertThat(rows.get("trafficcapture.vmesh.io/web-everything")).containsAllEntriesOf(Map.of(
        "READY", "False", "REASON", "ConflictingCaptures", "MATCHED", "4", "INJECTED", "0"));
    assertThat(rows.get("meshpolicy.vmesh.io/web")).containsAllEntriesOf(Map.of(
        "OUTBOUND", "REGISTRY_ONLY", "READY", "True", "REASON", "Reconciled", "SYNCED", "0/2"));
    assertThat(rows.get("meshpolicy.vmesh.io/web-canary")).containsAllEntriesOf(Map.of(
        "READY", "False", "REASON", "Conflicted", "SYNCED", "0/0"));
    assertThat(rows.get("meshpolicy.vmesh.io/broken")).containsAllEntriesOf(Map.of("READY", "False", "REASON", "Invalid"));

    assertThat(readyMessage(kubectl, "broken")).isEqualTo("ports: each port may be declared only once; "
        + "http[].route: the weights add up to 0, so no request could be sent anywhere; give at least one destination a weight above 0");
    assertThat(readyMessage(kubectl, "web-canary")).contains("is also selected by MeshPolicy web, which is older");
    assertThat(kubectl.ok("get", "events", "-n", "demo", "-o", "jsonpath={.items[*].reason}"))
        .contains("Reconciled", "Invalid", "Conflicted");

    // settled means settled: no status write (no new resourceVersion) while nothing changes
    String versions = resourceVersions(kubectl);
    Thread.sleep(1500);
    assertThat(resourceVersions(kubectl)).as("resourceVersions of tc,mp after 1.5 s without changes").isEqualTo(versions);

    // the Pod informer is live: a deleted pod leaves the counts
    kubectl.ok("delete", "pod", "-n", "demo", "web-old");
    awaitTable(kubectl, r -> "2".equals(cell(r, "trafficcapture.vmesh.io/web", "MATCHED"))
        && "0".equals(cell(r, "trafficcapture.vmesh.io/web", "OUTDATED")));
    // references are live: a Service the policy routes to goes away
    kubectl.ok("delete", "service", "-n", "demo", "reviews-canary");
    awaitTable(kubectl, r -> "BackendNotFound".equals(cell(r, "meshpolicy.vmesh.io/web", "REASON")));
    assertThat(readyMessage(kubectl, "web")).isEqualTo("http[0] (reviews-split): Service demo/reviews-canary not found");
    // precedence is live: without the older policy the newer one wins
    kubectl.ok("delete", "meshpolicy", "-n", "demo", "web");
    Map<String, Map<String, String>> after = awaitTable(kubectl, r -> "True".equals(cell(r, "meshpolicy.vmesh.io/web-canary", "READY")));
    assertThat(after.get("meshpolicy.vmesh.io/web-canary")).containsEntry("SYNCED", "0/1");
    proxyConnectsAndProxyStatusShowsIt(kubectl, operator);
    assertThat(operator.isAlive()).as("operator still running").isTrue();
  }

  /**
   * A simulated proxy of web-new authenticates with a token kubectl minted for its pod; proxy-status (the jar, as a
   * user runs it) lists it: the generator's config arrives in push order, and once acknowledged it is SYNCED in
   * proxy-status and in the governing MeshPolicy's status.
   */
  private void proxyConnectsAndProxyStatusShowsIt(Kubectl kubectl, JarProcess operator) throws Exception {
    String token = kubectl.ok("create", "token", "default", "-n", "demo", "--bound-object-kind", "Pod", "--bound-object-name", "web-new",
        "--audience", "vmesh").trim();
    int xdsPort = Integer.parseInt(operator.await(Pattern.compile("xDS \\(ADS\\) on 127\\.0\\.0\\.1:(\\d+) \\(plaintext\\)"),
        Duration.ofSeconds(5)).group(1));
    String health = "http://127.0.0.1:" + operator.await(Pattern.compile("health endpoints on 127\\.0\\.0\\.1:(\\d+)"), Duration.ofSeconds(5)).group(1);
    Vertx vertx = Vertx.vertx();
    try {
      AdsTestClient proxy = AdsTestClient.open(GrpcClient.client(vertx), SocketAddress.inetSocketAddress(xdsPort, "127.0.0.1"),
          ProxyId.nodeId("10.1.0.7", "web-new", "demo"), token).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      ProxySnapshot.PUSH_ORDER.forEach(proxy::subscribe);
      // the generator knows web-new (injected, governed by web-canary): its config arrives in push order; ACK it all
      List<String> types = new java.util.ArrayList<>();
      DiscoveryResponse response;
      long t0 = System.nanoTime();
      while ((response = proxy.responses.poll(types.isEmpty() ? 30 : 3, TimeUnit.SECONDS)) != null) {
        if (types.isEmpty()) {
          LOG.info("first xDS response after {} ms", (System.nanoTime() - t0) / 1_000_000);
        }
        types.add(response.getTypeUrl());
        proxy.ack(response);
      }
      assertThat(types).as("first responses, in make-before-break order").startsWith(ProxySnapshot.CLUSTER_TYPE)
          .contains(ProxySnapshot.LISTENER_TYPE);
      assertThat(types.stream().distinct().toList())
          .isEqualTo(ProxySnapshot.PUSH_ORDER.stream().filter(types::contains).toList());
      Instant deadline = Instant.now().plus(RECONCILED_WITHIN);
      String table = "";
      while (Instant.now().isBefore(deadline) && !table.contains("web-new.demo   SYNCED")) {
        table = proxyStatus("--operator", health);
        Thread.sleep(200);
      }
      List<String> row = table.lines().filter(l -> l.startsWith("web-new.demo")).findFirst()
          .map(l -> List.of(l.trim().split(" {2,}"))).orElse(List.of());
      assertThat(table.lines().findFirst().orElse("")).as(table).matches("NAME +CDS +LDS +EDS +RDS +VERSION");
      // every type that was sent is acknowledged; a type with nothing to send stays NOT SENT
      assertThat(row).as(table).hasSize(6).first().isEqualTo("web-new.demo");
      assertThat(row.subList(1, 5)).as(table).allMatch(c -> c.equals("SYNCED") || c.equals("NOT SENT")).contains("SYNCED");
      assertThat(proxyStatus("web-new.demo", "--operator", health))
          .contains("Proxy web-new.demo (node sidecar~10.1.0.7~web-new.demo~demo.svc.cluster.local)")
          .contains("CDS  SYNCED");
      // governed by web-canary, connected and in sync
      Instant synced = Instant.now().plus(RECONCILED_WITHIN);
      String count = "";
      while (Instant.now().isBefore(synced) && !"1".equals(count)) {
        count = kubectl.ok("get", "meshpolicy", "web-canary", "-n", "demo", "-o", "jsonpath={.status.proxies.synced}");
        Thread.sleep(200);
      }
      assertThat(count).as("web-canary status.proxies.synced").isEqualTo("1");
      proxy.close();
    } finally {
      vertx.close();
    }
  }

  private String proxyStatus(String... args) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
        jar("vmesh.operator.jar").toString(), "proxy-status"));
    command.addAll(List.of(args));
    Path out = Files.createTempFile(dir, "proxy-status", ".out");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return Files.readString(out);
  }

  private static void operatorIsReady(JarProcess operator) throws Exception {
    Matcher health = operator.await(Pattern.compile("health endpoints on 127\\.0\\.0\\.1:(\\d+)"), Duration.ofSeconds(30));
    URI base = URI.create("http://127.0.0.1:" + health.group(1));
    HttpClient http = HttpClient.newHttpClient();
    assertThat(http.send(HttpRequest.newBuilder(base.resolve("/healthz")).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(200);
    Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
    int status = 0;
    while (Instant.now().isBefore(deadline) && status != 200) {
      status = http.send(HttpRequest.newBuilder(base.resolve("/readyz")).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
      Thread.sleep(200);
    }
    assertThat(status).as("/readyz; operator log:\n" + operator.log()).isEqualTo(200);
  }

  /** Polls {@code kubectl get tc,mp -n demo} until the condition holds, logging the table it ends with. */
  private static Map<String, Map<String, String>> awaitTable(Kubectl kubectl, Predicate<Map<String, Map<String, String>>> done)
      throws Exception {
    Instant deadline = Instant.now().plus(RECONCILED_WITHIN);
    String output = "";
    while (Instant.now().isBefore(deadline)) {
      output = kubectl.ok("get", "tc,mp", "-n", "demo");
      if (done.test(Kubectl.table(output))) {
        LOG.info("kubectl get tc,mp -n demo\n{}", output);
        return Kubectl.table(output);
      }
      Thread.sleep(300);
    }
    throw new AssertionError("not reconciled within " + RECONCILED_WITHIN + "; kubectl get tc,mp -n demo:\n" + output);
  }

  /** Every one of the n resources has a Ready column. */
  private static Predicate<Map<String, Map<String, String>>> rowsSettle(int n) {
    return rows -> rows.size() == n && rows.values().stream().noneMatch(r -> r.getOrDefault("READY", "").isEmpty())
        && "3".equals(cell(rows, "trafficcapture.vmesh.io/web", "MATCHED"));
  }

  private static String cell(Map<String, Map<String, String>> rows, String name, String column) {
    return rows.getOrDefault(name, Map.of()).get(column);
  }

  private static String resourceVersions(Kubectl kubectl) throws Exception {
    return kubectl.ok("get", "tc,mp", "-n", "demo", "-o", "jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}");
  }

  private static String readyMessage(Kubectl kubectl, String policy) throws Exception {
    return kubectl.ok("get", "meshpolicy", policy, "-n", "demo", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].message}");
  }

  /**
   * Namespaces, the Services the sample routes to, and pods for the sample TrafficCapture: web-new injected from
   * its current spec, web-old from an older one, web-plain not injected, db-1 not selected.
   */
  private Path fixtures() throws Exception {
    TrafficCapture capture = new ObjectMapper(new YAMLFactory()).readValue(REPO.resolve("samples/traffic-capture.yaml").toFile(),
        TrafficCapture.class);
    String current = new InjectionStatus("web", SpecHash.of(capture.getSpec()), List.of("vmesh-init"), List.of("vmesh-proxy")).toJson();
    String old = new InjectionStatus("web", "0000000000000000", List.of("vmesh-init"), List.of("vmesh-proxy")).toJson();
    ObjectMapper json = new ObjectMapper();
    String manifests = String.join("\n---\n",
        "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"demo\"}}",
        "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"vmesh-system\"}}",
        service("reviews"),
        service("reviews-canary"),
        pod("web-new", "web", json.writeValueAsString(current)),
        pod("web-old", "web", json.writeValueAsString(old)),
        pod("web-plain", "web", null),
        pod("db-1", "db", null),
        "{\"apiVersion\": \"v1\", \"kind\": \"ServiceAccount\", \"metadata\": {\"name\": \"default\", \"namespace\": \"demo\"}}");
    Path file = dir.resolve("fixtures.yaml");
    // a leading comment makes kubectl read the file as a YAML stream of JSON documents
    Files.writeString(file, "# OperatorIT fixtures\n" + manifests);
    return file;
  }

  private static String service(String name) {
    return "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"" + name + "\", \"namespace\": \"demo\"},"
        + " \"spec\": {\"ports\": [{\"port\": 9080}]}}";
  }

  private static String pod(String name, String app, String statusAnnotationJson) {
    String annotations = statusAnnotationJson == null ? "{}" : "{\"" + InjectionStatus.ANNOTATION + "\": " + statusAnnotationJson + "}";
    return "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"" + name + "\", \"namespace\": \"demo\","
        + " \"labels\": {\"app\": \"" + app + "\"}, \"annotations\": " + annotations + "},"
        + " \"spec\": {\"containers\": [{\"name\": \"app\", \"image\": \"example/app\"}]}}";
  }

  private static String sample(String file) {
    return REPO.resolve("samples").resolve(file).toString();
  }

  private static Path jar(String property) {
    String value = System.getProperty(property);
    assertThat(value).as("system property " + property + " (set by the failsafe configuration)").isNotBlank();
    return Path.of(value);
  }
}
