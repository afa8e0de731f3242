package io.vmesh.apiserver.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmesh.apiserver.admission.LabelSelector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What the Kubernetes API server does to a {@code batch/v1} Job before storing it (its registry strategy): defaults,
 * the generated selector and labels, validation on create, immutable fields on update. Pure functions on the JSON
 * object, so that the dispatcher only decides when to call them.
 */
public final class JobStrategy {

  public static final String CONTROLLER_UID = "batch.kubernetes.io/controller-uid";
  public static final String JOB_NAME = "batch.kubernetes.io/job-name";
  /** The labels Kubernetes still sets next to the prefixed ones, for selectors written before 1.27. */
  static final String LEGACY_CONTROLLER_UID = "controller-uid";
  static final String LEGACY_JOB_NAME = "job-name";
  private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  /** Fields of the Job API that the sandbox's Job controller does not implement: refused rather than ignored. */
  private static final List<String> NOT_IMPLEMENTED = List.of("podFailurePolicy", "successPolicy", "backoffLimitPerIndex",
      "maxFailedIndexes", "managedBy");

  private JobStrategy() {
  }

  /** Kubernetes' defaults for a new Job: parallelism and completions 1, backoffLimit 6, NonIndexed, not suspended. */
  public static void applyDefaults(ObjectNode job) {
    if (!(job.get("spec") instanceof ObjectNode spec)) {
      return;
    }
    if (!spec.has("completions") && !spec.has("parallelism")) {
      spec.put("completions", 1);
    }
    if (!spec.has("parallelism")) {
      spec.put("parallelism", 1);
    }
    if (!spec.has("backoffLimit")) {
      spec.put("backoffLimit", 6);
    }
    if (!spec.has("completionMode")) {
      spec.put("completionMode", "NonIndexed");
    }
    if (!spec.has("suspend")) {
      spec.put("suspend", false);
    }
    if (!spec.has("podReplacementPolicy")) {
      spec.put("podReplacementPolicy", "TerminatingOrFailed");
    }
  }

  /** The errors of a new Job (after {@link #applyDefaults}), before its selector is generated. */
  public static List<FieldError> validateCreate(JsonNode job) {
    List<FieldError> errors = validate(job);
    JsonNode spec = job.path("spec");
    boolean manual = spec.path("manualSelector").asBoolean(false);
    if (!manual && spec.has("selector") && !spec.get("selector").isNull()) {
      errors.add(FieldError.invalid("spec.selector", spec.get("selector").toString(), "`selector` will be auto-generated"));
    }
    if (manual) {
      JsonNode selector = spec.path("selector");
      if (!selector.isObject() || (selector.path("matchLabels").isEmpty() && selector.path("matchExpressions").isEmpty())) {
        errors.add(FieldError.required("spec.selector", "a non-empty selector when manualSelector is true"));
      } else if (!matches(selector, spec.path("template").path("metadata").path("labels"))) {
        errors.add(FieldError.invalid("spec.template.metadata.labels", spec.path("template").path("metadata").path("labels").toString(),
            "`selector` does not match template `labels`"));
      }
    }
    return errors;
  }

  /**
   * Gives the stored Job (now with its uid) the selector and pod labels Kubernetes generates: the template is
   * labelled with the Job's uid and name, the selector selects that uid, and a Job without labels takes the template's.
   */
  public static void generateSelector(ObjectNode job) {
    ObjectNode spec = (ObjectNode) job.get("spec");
    String uid = job.path("metadata").path("uid").asText();
    String name = job.path("metadata").path("name").asText();
    ObjectNode metadata = (ObjectNode) job.get("metadata");
    ObjectNode template = object(spec, "template");
    ObjectNode labels = object(object(template, "metadata"), "labels");
    if (!spec.path("manualSelector").asBoolean(false)) {
      labels.put(CONTROLLER_UID, uid).put(JOB_NAME, name).put(LEGACY_CONTROLLER_UID, uid).put(LEGACY_JOB_NAME, name);
      spec.putObject("selector").putObject("matchLabels").put(CONTROLLER_UID, uid);
    }
    if (metadata.path("labels").isEmpty()) {
      metadata.set("labels", labels.deepCopy());
    }
  }

  /** The errors of a change to a stored Job's main resource: validation again, and the fields that never change. */
  public static List<FieldError> validateUpdate(JsonNode current, JsonNode next) {
    List<FieldError> errors = validate(next);
    for (String field : List.of("template", "selector", "completions", "completionMode", "manualSelector")) {
      JsonNode before = current.path("spec").path(field);
      JsonNode after = next.path("spec").path(field);
      if (!before.equals(after)) {
        errors.add(FieldError.invalid("spec." + field, after.isMissingNode() ? "null" : after.toString(), "field is immutable"));
      }
    }
    return errors;
  }

  private static List<FieldError> validate(JsonNode job) {
    List<FieldError> errors = new ArrayList<>();
    String name = job.path("metadata").path("name").asText("");
    if (!name.isEmpty() && (!DNS_SUBDOMAIN.matcher(name).matches() || name.length() > 63)) {
      // the name becomes the value of the pods' job-name label, hence 63 and not 253
      errors.add(FieldError.invalid("metadata.name", name, "a Job name must be a lowercase RFC 1123 subdomain of at most 63 "
          + "characters (it becomes a label value), e.g. 'pi-1'"));
    }
    JsonNode spec = job.path("spec");
    if (!spec.isObject()) {
      errors.add(FieldError.required("spec", ""));
      return errors;
    }
    for (String field : List.of("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished")) {
      JsonNode value = spec.path(field);
      if (value.isMissingNode() || value.isNull()) {
        continue;
      }
      if (!value.isIntegralNumber()) {
        errors.add(FieldError.invalid("spec." + field, value.isTextual() ? value.asText() : value.toString(), "must be an integer"));
      } else if (value.asLong() < 0) {
        errors.add(FieldError.invalid("spec." + field, value.asLong(), "must be greater than or equal to 0"));
      }
    }
    if (spec.path("activeDeadlineSeconds").isIntegralNumber() && spec.path("activeDeadlineSeconds").asLong() == 0) {
      errors.add(FieldError.invalid("spec.activeDeadlineSeconds", 0, "must be greater than 0"));
    }
    String mode = spec.path("completionMode").asText("NonIndexed");
    if (!mode.equals("NonIndexed")) {
      errors.add(mode.equals("Indexed")
          ? FieldError.forbidden("spec.completionMode", "Indexed Jobs are not implemented by mesh-in-a-box's Job controller")
          : FieldError.unsupported("spec.completionMode", mode, "NonIndexed", "Indexed"));
    }
    for (String field : NOT_IMPLEMENTED) {
      if (spec.has(field) && !spec.get(field).isNull()) {
        errors.add(FieldError.forbidden("spec." + field, "not implemented by mesh-in-a-box's Job controller"));
      }
    }
    String replacement = spec.path("podReplacementPolicy").asText("TerminatingOrFailed");
    if (!replacement.equals("TerminatingOrFailed") && !replacement.equals("Failed")) {
      errors.add(FieldError.unsupported("spec.podReplacementPolicy", replacement, "Failed", "TerminatingOrFailed"));
    }
    JsonNode template = spec.path("template");
    JsonNode podSpec = template.path("spec");
    if (!podSpec.path("containers").isArray() || podSpec.path("containers").isEmpty()) {
      errors.add(FieldError.required("spec.template.spec.containers", ""));
    }
    JsonNode restartPolicy = podSpec.path("restartPolicy");
    if (restartPolicy.isMissingNode() || restartPolicy.isNull() || restartPolicy.asText().isEmpty()) {
      errors.add(FieldError.required("spec.template.spec.restartPolicy", "valid values: \"OnFailure\", \"Never\""));
    } else if (!restartPolicy.asText().equals("OnFailure") && !restartPolicy.asText().equals("Never")) {
      errors.add(FieldError.unsupported("spec.template.spec.restartPolicy", restartPolicy.asText(), "OnFailure", "Never"));
    }
    return errors;
  }

  private static boolean matches(JsonNode selector, JsonNode labels) {
    try {
      return LabelSelector.matches(selector, labels);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static ObjectNode object(ObjectNode parent, String field) {
    return parent.get(field) instanceof ObjectNode o ? o : parent.putObject(field);
  }

  /** The Status {@code details} of a refused Job, which kubectl turns into {@code The Job "x" is invalid: ...}. */
  public static Map<String, Object> details(String name, List<FieldError> errors) {
    List<Map<String, String>> causes = errors.stream()
        .map(e -> Map.of("reason", e.reason(), "message", e.type() + (e.detail().isEmpty() ? "" : ": " + e.detail()), "field", e.field()))
        .toList();
    return Map.of("name", name, "group", "batch", "kind", "Job", "causes", causes);
  }
}
