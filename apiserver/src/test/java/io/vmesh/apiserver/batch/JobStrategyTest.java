package io.vmesh.apiserver.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class JobStrategyTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static ObjectNode job(String spec) throws Exception {
    return (ObjectNode) JSON.readTree("""
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "jobs", "uid": "u-1"},
         "spec": %s}""".formatted(spec));
  }

  private static final String TEMPLATE = """
      "template": {"metadata": {"labels": {"app": "pi"}},
                   "spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "busybox"}]}}""";

  @Test
  void defaultsAreKubernetesOnes() throws Exception {
    ObjectNode j = job("{" + TEMPLATE + "}");
    JobStrategy.applyDefaults(j);
    JsonNode spec = j.path("spec");
    assertThat(spec.path("completions").asInt()).isEqualTo(1);
    assertThat(spec.path("parallelism").asInt()).isEqualTo(1);
    assertThat(spec.path("backoffLimit").asInt()).isEqualTo(6);
    assertThat(spec.path("completionMode").asText()).isEqualTo("NonIndexed");
    assertThat(spec.path("suspend").asBoolean(true)).isFalse();
    assertThat(JobStrategy.validateCreate(j)).isEmpty();
  }

  @Test
  void aWorkQueueKeepsCompletionsUnset() throws Exception {
    ObjectNode j = job("{\"parallelism\": 3, " + TEMPLATE + "}");
    JobStrategy.applyDefaults(j);
    assertThat(j.path("spec").has("completions")).isFalse();
    assertThat(j.path("spec").path("parallelism").asInt()).isEqualTo(3);
  }

  @Test
  void selectorAndLabelsAreGeneratedFromTheUid() throws Exception {
    ObjectNode j = job("{" + TEMPLATE + "}");
    j.with("metadata").remove("labels");
    JobStrategy.generateSelector(j);
    assertThat(j.path("spec").path("selector").path("matchLabels").toString())
        .isEqualTo("{\"batch.kubernetes.io/controller-uid\":\"u-1\"}");
    JsonNode labels = j.path("spec").path("template").path("metadata").path("labels");
    assertThat(labels.path("app").asText()).isEqualTo("pi");
    assertThat(labels.path("batch.kubernetes.io/controller-uid").asText()).isEqualTo("u-1");
    assertThat(labels.path("batch.kubernetes.io/job-name").asText()).isEqualTo("pi");
    assertThat(labels.path("controller-uid").asText()).isEqualTo("u-1");
    assertThat(labels.path("job-name").asText()).isEqualTo("pi");
    assertThat(j.path("metadata").path("labels")).as("a Job without labels takes the template's").isEqualTo(labels);
  }

  @Test
  void ownLabelsOfTheJobAreKept() throws Exception {
    ObjectNode j = job("{" + TEMPLATE + "}");
    j.with("metadata").putObject("labels").put("team", "a");
    JobStrategy.generateSelector(j);
    assertThat(j.path("metadata").path("labels").toString()).isEqualTo("{\"team\":\"a\"}");
  }

  @Test
  void restartPolicyMustBeNeverOrOnFailure() throws Exception {
    ObjectNode always = job("""
        {"template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "i"}]}}}""");
    assertThat(messages(JobStrategy.validateCreate(always)))
        .containsExactly("spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\"");
    ObjectNode missing = job("""
        {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}""");
    assertThat(messages(JobStrategy.validateCreate(missing)))
        .containsExactly("spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"");
  }

  @Test
  void countsMustNotBeNegativeAndContainersAreRequired() throws Exception {
    ObjectNode j = job("""
        {"completions": -1, "backoffLimit": "six", "template": {"spec": {"restartPolicy": "Never"}}}""");
    assertThat(messages(JobStrategy.validateCreate(j))).containsExactlyInAnyOrder(
        "spec.completions: Invalid value: -1: must be greater than or equal to 0",
        "spec.backoffLimit: Invalid value: \"six\": must be an integer",
        "spec.template.spec.containers: Required value");
  }

  @Test
  void aSelectorIsGeneratedUnlessManualAndThenMustMatch() throws Exception {
    ObjectNode given = job("{\"selector\": {\"matchLabels\": {\"app\": \"pi\"}}, " + TEMPLATE + "}");
    assertThat(messages(JobStrategy.validateCreate(given)))
        .containsExactly("spec.selector: Invalid value: \"{\"matchLabels\":{\"app\":\"pi\"}}\": `selector` will be auto-generated");
    ObjectNode manual = job("{\"manualSelector\": true, \"selector\": {\"matchLabels\": {\"app\": \"other\"}}, " + TEMPLATE + "}");
    assertThat(messages(JobStrategy.validateCreate(manual))).singleElement().asString()
        .startsWith("spec.template.metadata.labels: Invalid value:").endsWith("`selector` does not match template `labels`");
    ObjectNode matching = job("{\"manualSelector\": true, \"selector\": {\"matchLabels\": {\"app\": \"pi\"}}, " + TEMPLATE + "}");
    assertThat(JobStrategy.validateCreate(matching)).isEmpty();
    JobStrategy.generateSelector(matching);
    assertThat(matching.path("spec").path("template").path("metadata").path("labels").has("job-name")).isFalse();
  }

  @Test
  void unimplementedFeaturesAreRefusedByName() throws Exception {
    ObjectNode j = job("{\"completionMode\": \"Indexed\", \"podFailurePolicy\": {\"rules\": []}, " + TEMPLATE + "}");
    assertThat(messages(JobStrategy.validateCreate(j))).containsExactlyInAnyOrder(
        "spec.completionMode: Forbidden: Indexed Jobs are not implemented by mesh-in-a-box's Job controller",
        "spec.podFailurePolicy: Forbidden: not implemented by mesh-in-a-box's Job controller");
  }

  @Test
  void nameMustFitALabelValue() throws Exception {
    ObjectNode j = job("{" + TEMPLATE + "}");
    j.with("metadata").put("name", "x".repeat(64));
    assertThat(messages(JobStrategy.validateCreate(j))).singleElement().asString().startsWith("metadata.name: Invalid value:");
  }

  @Test
  void templateSelectorAndCompletionsAreImmutable() throws Exception {
    ObjectNode stored = job("{\"parallelism\": 1, " + TEMPLATE + "}");
    JobStrategy.applyDefaults(stored);
    JobStrategy.generateSelector(stored);
    ObjectNode scaled = stored.deepCopy();
    scaled.with("spec").put("parallelism", 2).put("backoffLimit", 1);
    assertThat(JobStrategy.validateUpdate(stored, scaled)).isEmpty();
    ObjectNode changed = stored.deepCopy();
    ((ObjectNode) changed.at("/spec/template/spec/containers/0")).put("image", "other");
    changed.with("spec").put("completions", 3);
    assertThat(JobStrategy.validateUpdate(stored, changed)).extracting(FieldError::field)
        .containsExactlyInAnyOrder("spec.template", "spec.completions");
    assertThat(messages(JobStrategy.validateUpdate(stored, changed))).allMatch(m -> m.endsWith(": field is immutable"));
  }

  private static List<String> messages(List<FieldError> errors) {
    return errors.stream().map(FieldError::message).toList();
  }
}
