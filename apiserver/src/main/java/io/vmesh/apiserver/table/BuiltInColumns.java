package io.vmesh.apiserver.table;

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
  public static List<PrinterColumn> of(String group, String plural) {
    if (group.isEmpty() && plural.equals("pods")) {
      return PODS;
    }
    if (group.isEmpty() && plural.equals("namespaces")) {
      return NAMESPACES;
    }
    return List.of(PrinterColumn.AGE);
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
