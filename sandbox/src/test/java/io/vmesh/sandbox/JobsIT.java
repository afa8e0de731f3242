package io.vmesh.sandbox;

import static io.vmesh.sandbox.BoxChecks.JSON;
import static io.vmesh.sandbox.BoxChecks.awaitKubectl;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmesh.sandbox.cluster.MeshInABox;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * batch/v1 Jobs in an injected namespace, applied with kubectl and run by the box's Job controller and kubelet: one
 * whose sidecar is a native sidecar (the kubelet stops it once the work exits) and one whose classic sidecar the work
 * stops with {@code POST /quitquitquit} each reach Complete 1/1 with their pod Succeeded and no sidecar process left;
 * one whose work fails reaches Failed after {@code backoffLimit} retries; a finished Job goes with
 * {@code ttlSecondsAfterFinished}, its pods with it. {@code kubectl get jobs} after each step.
 */
@ExtendWith(NeedsRootAndNetns.class)
class JobsIT {

  private static final Logger LOG = LoggerFactory.getLogger(JobsIT.class);
  private static final String NS = "jobs";
  private static final int BACKOFF_LIMIT = 2;

  @Test
  void jobsCompleteWithTheirSidecarsAndAFailingJobFails() throws Exception {
    BoxChecks.inBox(LOG, this::scenario);
  }

  private void scenario(MeshInABox box) throws Exception {
    box.kubectlApply(namespaceAndCaptures());
    for (String tc : List.of("native", "classic")) {
      awaitKubectl(box, "True"::equals, "get", "tc", tc, "-n", NS, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
    }
    // the operator publishes its CA into an injected namespace: the sidecars need it for xDS over TLS
    awaitKubectl(box, s -> s.contains("BEGIN CERTIFICATE"), "get", "configmap", "vmesh-ca-root-cert", "-n", NS,
        "-o", "jsonpath={.data.root-cert\\.pem}");

    box.kubectlApply(job("job-native", "native", 6, WORK));
    box.kubectlApply(job("job-classic", "classic", 6, WORK + QUIT));
    box.kubectlApply(job("job-failing", "native", BACKOFF_LIMIT, "print('the work fails', flush=True)\nraise SystemExit(3)\n"));
    logJobs(box, "three Jobs applied");

    for (String job : List.of("job-native", "job-classic")) {
      awaitKubectl(box, "True"::equals, "get", "job", job, "-n", NS, "-o", "jsonpath={.status.conditions[?(@.type==\"Complete\")].status}");
      logJobs(box, job + " complete");
      // what kubectl wait sees, as a user would wait for it
      assertThat(box.kubectlOk("wait", "--for=condition=complete", "--timeout=60s", "job/" + job, "-n", NS).stdout())
          .contains("job.batch/" + job + " condition met");
      JsonNode status = jobJson(box, job).path("status");
      assertThat(status.path("succeeded").asInt()).as(job + " succeeded").isEqualTo(1);
      assertThat(status.path("active").asInt()).as(job + " active").isZero();
      assertThat(status.path("failed").asInt()).as(job + " failed").isZero();
      assertThat(status.path("completionTime").asText()).as(job + " completionTime").isNotEmpty();
      assertThat(box.kubectlOk("get", "jobs", "-n", NS).stdout().lines().filter(l -> l.startsWith(job + " ")).findFirst().orElseThrow()
          .split("\\s+")).as("kubectl get jobs row of " + job).startsWith(job, "Complete", "1/1");
      JsonNode pod = onlyPod(box, job);
      checkPodRanTheWork(box, job, pod);
    }
    JsonNode nativePod = onlyPod(box, "job-native");
    JsonNode sidecar = nativePod.path("spec").path("initContainers").get(1);
    assertThat(sidecar.path("name").asText()).isEqualTo("vmesh-proxy");
    assertThat(sidecar.path("restartPolicy").asText()).as("injected as a native sidecar").isEqualTo("Always");
    assertThat(containerStatus(nativePod.path("status").path("initContainerStatuses"), "vmesh-proxy").path("state").has("terminated"))
        .as("the native sidecar stopped by the kubelet: " + nativePod.path("status")).isTrue();
    JsonNode classicPod = onlyPod(box, "job-classic");
    assertThat(classicPod.path("spec").path("containers").get(0).path("name").asText()).as("injected as the first container")
        .isEqualTo("vmesh-proxy");
    JsonNode proxy = containerStatus(classicPod.path("status").path("containerStatuses"), "vmesh-proxy");
    assertThat(proxy.path("state").path("terminated").path("exitCode").asInt(-1)).as("the proxy after /quitquitquit: " + proxy).isZero();

    awaitKubectl(box, "True"::equals, "get", "job", "job-failing", "-n", NS, "-o", "jsonpath={.status.conditions[?(@.type==\"Failed\")].status}");
    logJobs(box, "job-failing failed");
    JsonNode failing = jobJson(box, "job-failing");
    JsonNode failed = condition(failing, "Failed");
    assertThat(failed.path("reason").asText()).isEqualTo("BackoffLimitExceeded");
    assertThat(failed.path("message").asText()).isEqualTo("Job has reached the specified backoff limit");
    assertThat(failing.path("status").path("failed").asInt()).as("backoffLimit " + BACKOFF_LIMIT + ": that many retries after the first").isEqualTo(BACKOFF_LIMIT + 1);
    assertThat(failing.path("status").path("succeeded").asInt()).isZero();
    JsonNode failedPods = pods(box, "job-failing");
    assertThat(failedPods.path("items")).as("one pod per attempt").hasSize(BACKOFF_LIMIT + 1);
    for (JsonNode p : failedPods.path("items")) {
      assertThat(p.path("status").path("phase").asText()).as(p.path("metadata").path("name").asText()).isEqualTo("Failed");
      assertThat(sidecarProcesses(p.path("metadata").path("name").asText())).as("sidecar processes of a failed pod").isEmpty();
    }
    assertThat(box.kubectlOk("get", "jobs", "-n", NS).stdout().lines().filter(l -> l.startsWith("job-failing ")).findFirst().orElseThrow()
        .split("\\s+")).startsWith("job-failing", "Failed", "0/1");

    // ttlSecondsAfterFinished may be set after the fact: the Job goes, and the garbage collector's part takes its pod
    box.kubectlOk("patch", "job", "job-classic", "-n", NS, "--type=merge", "-p", "{\"spec\":{\"ttlSecondsAfterFinished\":0}}");
    awaitKubectl(box, String::isEmpty, "get", "jobs,pods", "-n", NS, "-l", "batch.kubernetes.io/job-name=job-classic", "-o", "name");
    logJobs(box, "job-classic deleted by its ttlSecondsAfterFinished");
  }

  /** The work: a GET of the server outside the mesh (through the sidecar, ALLOW_ANY), retried until the sidecar has its config. */
  private static final String WORK = """
      import time, urllib.request
      deadline = time.time() + 120
      while True:
          try:
              print(urllib.request.urlopen('%s', timeout=10).read().decode().strip(), flush=True)
              break
          except Exception as e:
              if time.time() > deadline:
                  raise
              print('not yet:', e, flush=True)
              time.sleep(1)
      """.formatted(MeshInABox.externalUrl());

  /** Without a native sidecar the pod only ends when the proxy does: the work asks it to exit. */
  private static final String QUIT = """
      urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:15000/quitquitquit', method='POST'), timeout=10).read()
      print('asked the sidecar to quit', flush=True)
      """;

  /** The pod ran the work through its sidecar: the answer in its log, the connection in the sidecar's access log, no process left. */
  private static void checkPodRanTheWork(MeshInABox box, String job, JsonNode pod) throws IOException {
    String name = pod.path("metadata").path("name").asText();
    assertThat(name).as("generateName " + job + "-").matches(job + "-[a-z0-9]{5}");
    assertThat(pod.path("status").path("phase").asText()).as(name).isEqualTo("Succeeded");
    JsonNode owner = pod.path("metadata").path("ownerReferences").get(0);
    assertThat(owner.path("kind").asText() + "/" + owner.path("name").asText()).isEqualTo("Job/" + job);
    assertThat(owner.path("controller").asBoolean()).isTrue();
    assertThat(pod.path("metadata").path("labels").path("vmesh.io/injected").asText()).as(name + " injected").isEqualTo("true");
    Path logs = box.podLogs(NS, name);
    assertThat(Files.readString(logs.resolve("work.log"))).as(job + "'s work").contains("external server: / from 10.88.0.");
    assertThat(Files.readString(logs.resolve("vmesh-proxy.log"))).as(job + "'s sidecar access log")
        .contains("PassthroughCluster").contains("192.0.2.10:80");
    assertThat(sidecarProcesses(name)).as("processes of " + name + " after it succeeded").isEmpty();
  }

  /** Processes whose environment names the pod (the sidecar's POD_NAME, from the downward API): none once it ended. */
  private static List<String> sidecarProcesses(String pod) {
    List<String> found = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
        try {
          String environ = new String(Files.readAllBytes(p.resolve("environ"))).replace('\0', '\n');
          if (environ.lines().anyMatch(("POD_NAME=" + pod)::equals)) {
            found.add(p.getFileName() + " " + new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' '));
          }
        } catch (IOException e) {
          // the process ended while being read
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot list /proc", e);
    }
    return found;
  }

  private static JsonNode jobJson(MeshInABox box, String job) throws IOException {
    return JSON.readTree(box.kubectlOk("get", "job", job, "-n", NS, "-o", "json").stdout());
  }

  private static JsonNode pods(MeshInABox box, String job) throws IOException {
    return JSON.readTree(box.kubectlOk("get", "pods", "-n", NS, "-l", "batch.kubernetes.io/job-name=" + job, "-o", "json").stdout());
  }

  private static JsonNode onlyPod(MeshInABox box, String job) throws IOException {
    JsonNode items = pods(box, job).path("items");
    assertThat(items).as("pods of " + job).hasSize(1);
    return items.get(0);
  }

  private static JsonNode containerStatus(JsonNode statuses, String name) {
    for (JsonNode s : statuses) {
      if (s.path("name").asText().equals(name)) {
        return s;
      }
    }
    throw new AssertionError("no status of container " + name + " in " + statuses);
  }

  private static JsonNode condition(JsonNode job, String type) {
    for (JsonNode c : job.path("status").path("conditions")) {
      if (c.path("type").asText().equals(type)) {
        return c;
      }
    }
    throw new AssertionError("no condition " + type + " in " + job.path("status"));
  }

  private static void logJobs(MeshInABox box, String step) {
    LOG.info("after {}: kubectl get jobs -n {}\n{}", step, NS, box.kubectlOk("get", "jobs", "-n", NS, "-o", "wide").stdout());
  }

  private static String namespaceAndCaptures() {
    return """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: jobs
          labels:
            vmesh.io/injection: enabled
        ---
        apiVersion: vmesh.io/v1alpha1
        kind: TrafficCapture
        metadata:
          name: native
          namespace: jobs
        spec:
          selector:
            matchLabels:
              sidecar: native
          proxy:
            nativeSidecar: Enabled
        ---
        apiVersion: vmesh.io/v1alpha1
        kind: TrafficCapture
        metadata:
          name: classic
          namespace: jobs
        spec:
          selector:
            matchLabels:
              sidecar: classic
          proxy:
            nativeSidecar: Disabled
        """;
  }

  private static String job(String name, String sidecar, int backoffLimit, String code) {
    StringBuilder quoted = new StringBuilder();
    code.lines().forEach(l -> quoted.append("\n              ").append(l));
    return """
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: %s
          namespace: jobs
        spec:
          backoffLimit: %d
          template:
            metadata:
              labels:
                sidecar: %s
            spec:
              restartPolicy: Never
              securityContext:
                runAsUser: 1000
                runAsGroup: 1000
              containers:
              - name: work
                image: ghcr.io/vmesh/samples/reviews:0.1.0
                command:
                - /usr/bin/python3
                - -u
                - -c
                - |%s
        """.formatted(name, backoffLimit, sidecar, quoted);
  }
}
