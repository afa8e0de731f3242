package io.vmesh.apiserver.admission;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/** A {@code metav1.LabelSelector} (matchLabels and matchExpressions) evaluated against a set of labels. */
public final class LabelSelector {

  private LabelSelector() {
  }

  /** A missing or empty selector matches everything, as in Kubernetes. */
  public static boolean matches(JsonNode selector, JsonNode labels) {
    if (selector == null || selector.isMissingNode() || selector.isNull()) {
      return true;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = selector.path("matchLabels").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) {
        return false;
      }
    }
    for (JsonNode expression : selector.path("matchExpressions")) {
      String key = expression.path("key").asText();
      Set<String> values = new HashSet<>();
      expression.path("values").forEach(v -> values.add(v.asText()));
      boolean has = labels.has(key);
      String value = labels.path(key).asText(null);
      String operator = expression.path("operator").asText();
      boolean ok = switch (operator) {
        case "In" -> has && values.contains(value);
        case "NotIn" -> !has || !values.contains(value);
        case "Exists" -> has;
        case "DoesNotExist" -> !has;
        default -> throw new IllegalArgumentException("label selector operator '" + operator + "' is not one of In, NotIn, Exists, DoesNotExist");
      };
      if (!ok) {
        return false;
      }
    }
    return true;
  }
}
