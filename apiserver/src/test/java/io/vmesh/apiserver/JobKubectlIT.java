package io.vmesh.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** batch/v1 Jobs with the real kubectl against the built jar: defaults, generated selector, columns, refusals, wait. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JobKubectlIT extends AgainstServer {

  private Path job(String name, String restartPolicy, String image) throws Exception {
    Path file = dir.resolve(name + ".yaml");
    Files.writeString(file, """
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: %s
        spec:
          template:
            metadata:
              labels:
                app: pi
            spec:
              restartPolicy: %s
              containers:
              - name: work
                image: %s
        """.formatted(name, restartPolicy, image));
    return file;
  }

  @Test
  @Order(1)
  void aJobGetsDefaultsAGeneratedSelectorAndItsColumns() throws Exception {
    assertThat(kubectl.ok("apply", "--validate=false", "-f", job("pi", "Never", "perl:5").toString()).out())
        .contains("job.batch/pi created");
    String uid = kubectl.ok("get", "job", "pi", "-o", "jsonpath={.metadata.uid}").out();
    assertThat(kubectl.ok("get", "job", "pi", "-o",
        "jsonpath={.spec.completions} {.spec.parallelism} {.spec.backoffLimit} {.spec.selector.matchLabels}").out())
        .isEqualTo("1 1 6 {\"batch.kubernetes.io/controller-uid\":\"" + uid + "\"}");
    assertThat(kubectl.ok("get", "job", "pi", "-o", "jsonpath={.spec.template.metadata.labels}").out())
        .contains("\"app\":\"pi\"", "\"batch.kubernetes.io/job-name\":\"pi\"", "\"job-name\":\"pi\"", "\"controller-uid\":\"" + uid + "\"");
    List<List<String>> rows = kubectl.ok("get", "jobs").rows();
    assertThat(rows.get(0)).containsExactly("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE");
    assertThat(rows.get(1)).startsWith("pi", "Running", "0/1");
    List<List<String>> wide = kubectl.ok("get", "jobs", "-o", "wide").rows();
    assertThat(wide.get(0)).containsExactly("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS", "IMAGES", "SELECTOR");
    assertThat(wide.get(1)).endsWith("work", "perl:5", "batch.kubernetes.io/controller-uid=" + uid);
  }

  @Test
  @Order(2)
  void anInvalidJobIsRefusedNamingTheField() throws Exception {
    Kubectl.Result r = kubectl.run("apply", "--validate=false", "-f", job("bad", "Always", "perl:5").toString());
    assertThat(r.exit()).isNotZero();
    assertThat(r.err()).contains("The Job \"bad\" is invalid: spec.template.spec.restartPolicy: Unsupported value: \"Always\": "
        + "supported values: \"OnFailure\", \"Never\"");
    assertThat(kubectl.run("get", "job", "bad").exit()).as("nothing stored").isNotZero();
  }

  @Test
  @Order(3)
  void theTemplateIsImmutableButParallelismIsNot() throws Exception {
    Kubectl.Result r = kubectl.run("apply", "--validate=false", "-f", job("pi", "Never", "perl:6").toString());
    assertThat(r.exit()).isNotZero();
    assertThat(r.err()).contains("The Job \"pi\" is invalid: spec.template: Invalid value:").contains("field is immutable");
    assertThat(kubectl.ok("get", "job", "pi", "-o", "jsonpath={.spec.template.spec.containers[0].image}").out()).isEqualTo("perl:5");
    kubectl.ok("patch", "job", "pi", "--type=merge", "-p", "{\"spec\":{\"parallelism\":0}}");
    assertThat(kubectl.ok("get", "job", "pi", "-o", "jsonpath={.spec.parallelism}").out()).isEqualTo("0");
  }

  @Test
  @Order(4)
  void statusShowsInTheColumnsAndWaitSeesComplete() throws Exception {
    kubectl.ok("patch", "job", "pi", "--subresource=status", "--type=merge", "-p", """
        {"status":{"startTime":"2026-11-26T12:00:00Z","completionTime":"2026-11-26T12:00:42Z","succeeded":1,
          "conditions":[{"type":"Complete","status":"True","reason":"CompletionsReached"}]}}""");
    assertThat(kubectl.ok("get", "jobs").rows().get(1)).startsWith("pi", "Complete", "1/1", "42s");
    assertThat(kubectl.ok("wait", "--for=condition=complete", "--timeout=10s", "job/pi").out()).contains("job.batch/pi condition met");
  }

  @Test
  @Order(5)
  void generateNameMakesShortNamesLikeKubernetes() throws Exception {
    Path file = dir.resolve("generated.yaml");
    Files.writeString(file, Files.readString(job("x", "OnFailure", "perl:5")).replace("name: x", "generateName: pi-"));
    String created = kubectl.ok("create", "--validate=false", "-f", file.toString()).out();
    assertThat(created).matches("(?s)job\\.batch/pi-[bcdfghjklmnpqrstvwxz2456789]{5} created\\s*");
  }
}
