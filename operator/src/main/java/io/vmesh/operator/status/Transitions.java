package io.vmesh.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** The conditions whose status or reason differ between two condition lists: what deserves an Event. */
public final class Transitions {

  private Transitions() {
  }

  public static List<Condition> between(List<Condition> before, List<Condition> after) {
    List<Condition> changed = new ArrayList<>();
    for (Condition now : after) {
      boolean same = Conditions.find(before, now.getType())
          .filter(old -> Objects.equals(old.getStatus(), now.getStatus()) && Objects.equals(old.getReason(), now.getReason()))
          .isPresent();
      if (!same) {
        changed.add(now);
      }
    }
    return changed;
  }
}
