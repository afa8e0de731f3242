package io.vmesh.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConditionsTest {

  private static final Clock T1 = Clock.fixed(Instant.parse("2026-11-26T10:00:00.250Z"), ZoneOffset.UTC);
  private static final Clock T2 = Clock.fixed(Instant.parse("2026-11-26T11:30:00Z"), ZoneOffset.UTC);

  @Test
  void firstConditionTakesTheClockTimeInWholeSecondsAndTheGeneration() {
    List<Condition> conditions = new Conditions(null, 3L, T1).set("Ready", true, "Reconciled", "fine").build();

    assertThat(conditions).singleElement().satisfies(c -> {
      assertThat(c.getType()).isEqualTo("Ready");
      assertThat(c.getStatus()).isEqualTo("True");
      assertThat(c.getReason()).isEqualTo("Reconciled");
      assertThat(c.getMessage()).isEqualTo("fine");
      assertThat(c.getObservedGeneration()).isEqualTo(3L);
      assertThat(c.getLastTransitionTime()).isEqualTo("2026-11-26T10:00:00Z");
    });
  }

  @Test
  void sameStatusKeepsTheTransitionTimeEvenWhenReasonAndMessageChange() {
    List<Condition> before = new Conditions(null, 1L, T1).set("Ready", false, "Invalid", "bad port").build();

    List<Condition> after = new Conditions(before, 2L, T2).set("Ready", false, "Conflicted", "older policy wins").build();

    assertThat(after.get(0).getLastTransitionTime()).isEqualTo("2026-11-26T10:00:00Z");
    assertThat(after.get(0).getReason()).isEqualTo("Conflicted");
    assertThat(after.get(0).getObservedGeneration()).isEqualTo(2L);
  }

  @Test
  void statusChangeMovesTheTransitionTime() {
    List<Condition> before = new Conditions(null, 1L, T1).set("Ready", false, "Invalid", "bad port").build();

    List<Condition> after = new Conditions(before, 2L, T2).set("Ready", true, "Reconciled", "").build();

    assertThat(after.get(0).getLastTransitionTime()).isEqualTo("2026-11-26T11:30:00Z");
  }

  @Test
  void keepCarriesAConditionOverUntouched() {
    List<Condition> before = new Conditions(null, 1L, T1)
        .set("Accepted", true, "Accepted", "")
        .set("Ready", true, "Reconciled", "")
        .build();

    List<Condition> after = new Conditions(before, 1L, T2).keep("Accepted").set("Ready", false, "ReconcileError", "boom").build();

    assertThat(after).extracting(Condition::getType).containsExactly("Accepted", "Ready");
    assertThat(after.get(0)).isEqualTo(before.get(0));
    assertThat(after.get(1).getLastTransitionTime()).isEqualTo("2026-11-26T11:30:00Z");
  }

  @Test
  void transitionsAreStatusOrReasonChangesOnly() {
    List<Condition> before = new Conditions(null, 1L, T1)
        .set("Accepted", true, "Accepted", "")
        .set("Ready", false, "Invalid", "a")
        .build();
    List<Condition> after = new Conditions(before, 1L, T2)
        .set("Accepted", true, "Accepted", "")
        .set("Ready", false, "Invalid", "a different message")
        .set("ResolvedRefs", true, "ResolvedRefs", "")
        .build();

    assertThat(Transitions.between(before, after)).extracting(Condition::getType).containsExactly("ResolvedRefs");
    assertThat(Transitions.between(null, after)).hasSize(3);
  }

  @Test
  void statusComparisonSeesOnlyRealChanges() {
    List<Condition> a = new Conditions(null, 1L, T1).set("Ready", true, "Reconciled", "").build();
    List<Condition> sameLater = new Conditions(a, 1L, T2).set("Ready", true, "Reconciled", "").build();
    List<Condition> other = new Conditions(a, 1L, T2).set("Ready", true, "Reconciled", "3 pods").build();

    assertThat(StatusComparison.same(a, sameLater)).isTrue();
    assertThat(StatusComparison.same(a, other)).isFalse();
    assertThat(StatusComparison.same(null, a)).isFalse();
  }
}
