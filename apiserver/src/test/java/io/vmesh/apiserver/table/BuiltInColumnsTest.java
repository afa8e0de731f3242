package io.vmesh.apiserver.table;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class BuiltInColumnsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final java.time.Clock CLOCK = java.time.Clock.fixed(java.time.Instant.parse("2026-11-26T12:10:00Z"), java.time.ZoneOffset.UTC);

  @Test
  void runningPodWithAnUnreadySidecar() {
    Object pod = read("""
        {"metadata": {"name": "client"},
         "spec": {"containers": [{"name": "app"}, {"name": "vmesh-proxy"}]},
         "status": {"phase": "Running", "podIP": "10.88.0.10", "containerStatuses": [
           {"name": "app", "ready": true, "restartCount": 1, "state": {"running": {}}},
           {"name": "vmesh-proxy", "ready": false, "restartCount": 2, "state": {"running": {}}}]}}
        """);
    assertThat(BuiltInColumns.podReady(pod)).isEqualTo("1/2");
    assertThat(BuiltInColumns.podRestarts(pod)).isEqualTo(3L);
    assertThat(BuiltInColumns.podStatus(pod)).isEqualTo("Running");
  }

  @Test
  void nativeSidecarsCountLikeContainersButOtherInitContainersDoNot() {
    Object pod = read("""
        {"spec": {"initContainers": [{"name": "vmesh-init"}, {"name": "vmesh-proxy", "restartPolicy": "Always"}],
                  "containers": [{"name": "app"}]},
         "status": {"phase": "Running",
           "initContainerStatuses": [
             {"name": "vmesh-init", "ready": false, "restartCount": 4, "state": {"terminated": {"exitCode": 0}}},
             {"name": "vmesh-proxy", "ready": true, "restartCount": 1, "state": {"running": {}}}],
           "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0, "state": {"running": {}}}]}}
        """);
    assertThat(BuiltInColumns.podReady(pod)).isEqualTo("1/2");
    assertThat(BuiltInColumns.podRestarts(pod)).isEqualTo(1L);
  }

  @Test
  void statusPrefersTerminatingThenReasons() {
    assertThat(BuiltInColumns.podStatus(read("""
        {"metadata": {"deletionTimestamp": "2026-11-26T15:00:00Z"}, "status": {"phase": "Running"}}"""))).isEqualTo("Terminating");
    assertThat(BuiltInColumns.podStatus(read("""
        {"status": {"phase": "Failed", "reason": "Evicted"}}"""))).isEqualTo("Evicted");
    assertThat(BuiltInColumns.podStatus(read("""
        {"status": {"phase": "Running", "containerStatuses": [
          {"ready": false, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}"""))).isEqualTo("CrashLoopBackOff");
    assertThat(BuiltInColumns.podStatus(read("{\"spec\": {\"containers\": [{}]}}"))).isEqualTo("Pending");
    assertThat(BuiltInColumns.podReady(read("{\"spec\": {\"containers\": [{}]}}"))).isEqualTo("0/1");
  }

  @Test
  void namespacesShowTheirPhaseAndOtherKindsAge() {
    assertThat(BuiltInColumns.of("", "namespaces", CLOCK)).extracting(PrinterColumn::name).containsExactly("Status", "Age");
    assertThat(BuiltInColumns.of("", "pods", CLOCK)).extracting(PrinterColumn::name)
        .containsExactly("Ready", "Status", "Restarts", "Age", "IP", "Node");
    assertThat(BuiltInColumns.of("apps", "deployments", CLOCK)).containsExactly(PrinterColumn.AGE);
  }

  private static Object read(String json) {
    try {
      return JSON.readValue(json, Object.class);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void jobsShowStatusCompletionsAndDuration() {
    Object running = read("""
        {"spec": {"completions": 3, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}},
         "status": {"startTime": "2026-11-26T12:00:00Z", "succeeded": 1, "active": 1}}""");
    assertThat(BuiltInColumns.jobStatus(running)).isEqualTo("Running");
    assertThat(BuiltInColumns.jobCompletions(running)).isEqualTo("1/3");
    assertThat(BuiltInColumns.jobDuration(running, CLOCK.instant())).isEqualTo("10m");
    assertThat(BuiltInColumns.jobSelector(running)).isEqualTo("batch.kubernetes.io/controller-uid=u");
    Object complete = read("""
        {"spec": {"completions": 1},
         "status": {"startTime": "2026-11-26T12:00:00Z", "completionTime": "2026-11-26T12:00:42Z", "succeeded": 1,
           "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}}""");
    assertThat(BuiltInColumns.jobStatus(complete)).isEqualTo("Complete");
    assertThat(BuiltInColumns.jobDuration(complete, CLOCK.instant())).isEqualTo("42s");
    assertThat(BuiltInColumns.jobStatus(read("""
        {"status": {"conditions": [{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True"}]}}""")))
        .isEqualTo("Failed");
    assertThat(BuiltInColumns.jobCompletions(read("{\"spec\": {\"parallelism\": 4}, \"status\": {\"succeeded\": 2}}")))
        .isEqualTo("2/1 of 4");
    assertThat(BuiltInColumns.jobDuration(read("{\"status\": {}}"), CLOCK.instant())).isNull();
    assertThat(BuiltInColumns.jobSelector(read("""
        {"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "y"]},
          {"key": "b", "operator": "DoesNotExist"}]}}}"""))).isEqualTo("a in (x,y),!b");
    assertThat(BuiltInColumns.of("batch", "jobs", CLOCK)).extracting(PrinterColumn::name)
        .containsExactly("Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector");
  }
}
