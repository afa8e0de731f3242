package io.vmesh.operator.selection;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Kubernetes label selector semantics: matchLabels and matchExpressions all have to hold; empty selects everything. */
public final class LabelSelectorMatcher {

  public static final Set<String> OPERATORS = Set.of("In", "NotIn", "Exists", "DoesNotExist");

  private LabelSelectorMatcher() {
  }

  /** A selector that is absent or has no requirement selects every object. */
  public static boolean isEmpty(LabelSelector selector) {
    return selector == null
        || (isEmpty(selector.getMatchLabels()) && (selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty()));
  }

  public static boolean matches(LabelSelector selector, Map<String, String> labels) {
    if (isEmpty(selector)) {
      return true;
    }
    Map<String, String> actual = labels == null ? Map.of() : labels;
    if (selector.getMatchLabels() != null) {
      for (Map.Entry<String, String> wanted : selector.getMatchLabels().entrySet()) {
        if (!wanted.getValue().equals(actual.get(wanted.getKey()))) {
          return false;
        }
      }
    }
    if (selector.getMatchExpressions() != null) {
      for (LabelSelectorRequirement requirement : selector.getMatchExpressions()) {
        if (!matches(requirement, actual)) {
          return false;
        }
      }
    }
    return true;
  }

  private static boolean matches(LabelSelectorRequirement requirement, Map<String, String> labels) {
    String value = labels.get(requirement.getKey());
    List<String> values = requirement.getValues() == null ? List.of() : requirement.getValues();
    switch (String.valueOf(requirement.getOperator())) {
      case "In":
        return value != null && values.contains(value);
      case "NotIn":
        return value == null || !values.contains(value);
      case "Exists":
        return value != null;
      case "DoesNotExist":
        return value == null;
      default:
        // the validator reports unknown operators; selecting nothing is the safe reading meanwhile
        return false;
    }
  }

  private static boolean isEmpty(Map<String, String> map) {
    return map == null || map.isEmpty();
  }
}
