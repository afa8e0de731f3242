package io.vmesh.apiserver.table;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Columns for built-in kinds, where Kubernetes prints computed cells rather than JSONPath ones. */
public final class BuiltInColumns {

  private static final List<PrinterColumn> PODS = List.of(
      new PrinterColumn("Ready", "string", "", "ready containers / containers", 0, BuiltInColumns::podReady),
      new PrinterColumn("Status", "string", "", "why the pod is in its state", 0, BuiltInColumns::podStatus),
      new PrinterColumn("Restarts", "integer", "", "container restarts", 0, BuiltInColumns::podRestarts),
      PrinterColumn.AGE,
      PrinterColumn.of("IP", "string", 1, ".status.podIP"),
      PrinterColumn.of("Node", "string", 1, ".spec.nodeName"));

  private static final List<PrinterColumn> NAMESPACES = List.of(
      PrinterColumn.of("Status", "string", 0, ".status.phase"),
      PrinterColumn.AGE);

  private BuiltInColumns() {
  }

  /** The columns of a built-in resource type; Age alone for the ones without their own. */
  public static List<PrinterColumn> of(String group, String plural, Clock clock) {
    if (group.isEmpty() && plural.equals("pods")) {
      return PODS;
    }
    if (group.isEmpty() && plural.equals("namespaces")) {
      return NAMESPACES;
    }
    if (group.equals("batch") && plural.equals("jobs")) {
      return jobs(clock);
    }
    return List.of(PrinterColumn.AGE);
  }

  /** kubectl's Job columns: Status, Completions, Duration, Age; Containers, Images and Selector with -o wide. */
  private static List<PrinterColumn> jobs(Clock clock) {
    return List.of(
        new PrinterColumn("Status", "string", "", "status of the job", 0, BuiltInColumns::jobStatus),
        new PrinterColumn("Completions", "string", "", "succeeded pods / desired completions", 0, BuiltInColumns::jobCompletions),
        new PrinterColumn("Duration", "string", "", "how long the job ran", 0, job -> jobDuration(job, clock.instant())),
        PrinterColumn.AGE,
        PrinterColumn.of("Containers", "string", 1, ".spec.template.spec.containers[*].name"),
        PrinterColumn.of("Images", "string", 1, ".spec.template.spec.containers[*].image"),
        new PrinterColumn("Selector", "string", "", "the pods' label selector", 1, BuiltInColumns::jobSelector));
  }

  /** As kubectl: Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet, else Running. */
  static Object jobStatus(Object job) {
    List<String> order = List.of("Complete", "Failed", "Terminating", "Suspended", "FailureTarget", "SuccessCriteriaMet");
    for (String type : order) {
      if (type.equals("Terminating") ? map(job, "metadata").get("deletionTimestamp") != null : hasCondition(job, type)) {
        return type;
      }
    }
    return "Running";
  }

  private static boolean hasCondition(Object job, String type) {
    return list(map(job, "status").get("conditions")).stream()
        .anyMatch(c -> c instanceof Map<?, ?> m && type.equals(m.get("type")) && "True".equals(m.get("status")));
  }

  /** {@code succeeded/completions}; a work queue (no completions) prints {@code n/1}, with {@code of P} when parallel. */
  static Object jobCompletions(Object job) {
    Map<?, ?> spec = map(job, "spec");
    long succeeded = map(job, "status").get("succeeded") instanceof Number n ? n.longValue() : 0;
    if (spec.get("completions") instanceof Number completions) {
      return succeeded + "/" + completions.longValue();
    }
    if (spec.get("parallelism") instanceof Number p && p.longValue() > 1) {
      return succeeded + "/1 of " + p.longValue();
    }
    return succeeded + "/1";
  }

  /** From startTime to completionTime, or to now while it runs; blank before it started. */
  static Object jobDuration(Object job, Instant now) {
    Map<?, ?> status = map(job, "status");
    Instant start = status.get("startTime") instanceof String s ? Age.parse(s) : null;
    if (start == null) {
      return null;
    }
    Instant end = status.get("completionTime") instanceof String s ? Age.parse(s) : now;
    return Age.human(Duration.between(start, end == null ? now : end));
  }

  /** The selector as kubectl prints it: {@code k=v}, {@code k in (a,b)}, {@code k notin (a)}, {@code k}, {@code !k}. */
  static Object jobSelector(Object job) {
    Map<?, ?> selector = map(map(job, "spec"), "selector");
    List<String> terms = new java.util.ArrayList<>(map(selector, "matchLabels").entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue()).sorted().toList());
    for (Object e : list(selector.get("matchExpressions"))) {
      Map<?, ?> m = e instanceof Map<?, ?> x ? x : Map.of();
      String values = String.join(",", list(m.get("values")).stream().map(String::valueOf).toList());
      terms.add(switch (String.valueOf(m.get("operator"))) {
        case "In" -> m.get("key") + " in (" + values + ")";
        case "NotIn" -> m.get("key") + " notin (" + values + ")";
        case "DoesNotExist" -> "!" + m.get("key");
        default -> String.valueOf(m.get("key"));
      });
    }
    StringBuilder out = new StringBuilder(String.join(",", terms));
    return out.length() == 0 ? "<none>" : out.toString();
  }

  /** Like kubectl: the containers plus the native sidecars (init containers with restartPolicy Always). */
  static Object podReady(Object pod) {
    long ready = withSidecars(pod).stream().filter(s -> Boolean.TRUE.equals(s.get("ready"))).count();
    long sidecars = list(map(pod, "spec").get("initContainers")).stream()
        .filter(c -> c instanceof Map<?, ?> m && "Always".equals(m.get("restartPolicy"))).count();
    return ready + "/" + (list(map(pod, "spec").get("containers")).size() + sidecars);
  }

  static Object podRestarts(Object pod) {
    return withSidecars(pod).stream().mapToLong(s -> s.get("restartCount") instanceof Number n ? n.longValue() : 0)
        .sum();
  }

  /** The statuses of the containers and of the native sidecars. */
  private static List<Map<?, ?>> withSidecars(Object pod) {
    java.util.Set<Object> sidecars = new java.util.HashSet<>();
    for (Object c : list(map(pod, "spec").get("initContainers"))) {
      if (c instanceof Map<?, ?> m && "Always".equals(m.get("restartPolicy"))) {
        sidecars.add(m.get("name"));
      }
    }
    List<Map<?, ?>> all = new java.util.ArrayList<>(statuses(pod));
    list(map(pod, "status").get("initContainerStatuses")).stream()
        .filter(s -> s instanceof Map<?, ?> m && sidecars.contains(m.get("name"))).forEach(s -> all.add((Map<?, ?>) s));
    return all;
  }

  /** Terminating, then the pod's reason, then a waiting or failed container's reason, then the phase. */
  static Object podStatus(Object pod) {
    if (map(pod, "metadata").get("deletionTimestamp") != null) {
      return "Terminating";
    }
    Map<?, ?> status = map(pod, "status");
    if (status.get("reason") instanceof String reason) {
      return reason;
    }
    for (Map<?, ?> s : statuses(pod)) {
      Map<?, ?> state = map(s, "state");
      if (map(state, "waiting").get("reason") instanceof String reason) {
        return reason;
      }
      if (map(state, "terminated").get("reason") instanceof String reason) {
        return reason;
      }
    }
    return status.get("phase") instanceof String phase ? phase : "Pending";
  }

  private static List<Map<?, ?>> statuses(Object pod) {
    return list(map(pod, "status").get("containerStatuses")).stream()
        .filter(Map.class::isInstance).<Map<?, ?>>map(s -> (Map<?, ?>) s).toList();
  }

  private static Map<?, ?> map(Object object, String key) {
    return object instanceof Map<?, ?> m && m.get(key) instanceof Map<?, ?> v ? v : Map.of();
  }

  private static List<?> list(Object value) {
    return value instanceof List<?> l ? l : List.of();
  }
}
