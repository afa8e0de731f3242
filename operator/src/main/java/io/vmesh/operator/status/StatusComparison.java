package io.vmesh.operator.status;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Objects;

/** Compares two status objects by their JSON, so that "nothing changed" means "the patch would change nothing". */
public final class StatusComparison {

  private static final ObjectMapper JSON = new ObjectMapper();

  private StatusComparison() {
  }

  public static boolean same(Object before, Object after) {
    if (before == null || after == null) {
      return Objects.equals(before, after);
    }
    return JSON.valueToTree(before).equals(JSON.valueToTree(after));
  }
}
