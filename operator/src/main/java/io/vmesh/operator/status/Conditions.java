package io.vmesh.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Builds the next list of conditions from the previous one: {@code lastTransitionTime} is kept while a
 * condition's status stays the same and set from the clock when it changes.
 */
public final class Conditions {

  private final List<Condition> previous;
  private final List<Condition> next = new ArrayList<>();
  private final Long generation;
  private final Clock clock;

  /**
   * @param previous the conditions currently in the resource's status (may be null)
   * @param generation the resource's {@code metadata.generation} these conditions describe
   */
  public Conditions(List<Condition> previous, Long generation, Clock clock) {
    this.previous = previous == null ? List.of() : List.copyOf(previous);
    this.generation = generation;
    this.clock = clock;
  }

  /** Sets (or replaces) the condition of this type. */
  public Conditions set(String type, String status, String reason, String message) {
    next.removeIf(c -> c.getType().equals(type));
    String transition = find(previous, type)
        .filter(old -> Objects.equals(old.getStatus(), status) && old.getLastTransitionTime() != null)
        .map(Condition::getLastTransitionTime)
        .orElseGet(this::now);
    next.add(new ConditionBuilder()
        .withType(type)
        .withStatus(status)
        .withReason(reason)
        .withMessage(message == null ? "" : message)
        .withObservedGeneration(generation)
        .withLastTransitionTime(transition)
        .build());
    return this;
  }

  public Conditions set(String type, boolean status, String reason, String message) {
    return set(type, status ? ConditionTypes.TRUE : ConditionTypes.FALSE, reason, message);
  }

  /** Carries a previous condition over unchanged, e.g. when only Ready is being overwritten after an error. */
  public Conditions keep(String type) {
    find(previous, type).ifPresent(c -> {
      next.removeIf(n -> n.getType().equals(type));
      next.add(c);
    });
    return this;
  }

  public List<Condition> build() {
    return List.copyOf(next);
  }

  public static Optional<Condition> find(List<Condition> conditions, String type) {
    if (conditions == null) {
      return Optional.empty();
    }
    return conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  /** True when the condition exists with status True. */
  public static boolean isTrue(List<Condition> conditions, String type) {
    return find(conditions, type).map(c -> ConditionTypes.TRUE.equals(c.getStatus())).orElse(false);
  }

  private String now() {
    // metav1.Time is RFC 3339 with whole seconds
    return Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
