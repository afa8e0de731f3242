package io.vmesh.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.MeshPolicyStatus;
import io.vmesh.operator.status.Conditions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** A failed MeshPolicy reconcile ends as Ready=False, reason ReconcileError, and keeps what was known. */
class MeshPolicyErrorStatusTest {

  private static final Clock BEFORE = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);
  private static final Clock NOW = Clock.fixed(Instant.parse("2026-11-26T10:05:00Z"), ZoneOffset.UTC);

  @Test
  void aPolicyKeepsAcceptedResolvedRefsAndProxies() {
    MeshPolicy policy = new MeshPolicy();
    policy.getMetadata().setName("web");
    MeshPolicyStatus previous = new MeshPolicyStatus();
    previous.conditions = new Conditions(null, 1L, BEFORE)
        .set("Accepted", true, "Accepted", "")
        .set("ResolvedRefs", false, "BackendNotFound", "Service demo/x not found")
        .set("Ready", false, "BackendNotFound", "Service demo/x not found")
        .build();
    policy.setStatus(previous);

    MeshPolicyStatus status = MeshPolicyReconciler.errorStatus(policy, new RuntimeException("boom"), NOW);

    assertThat(status.conditions).extracting(Condition::getType).containsExactly("Accepted", "ResolvedRefs", "Ready");
    assertThat(status.conditions.get(2).getReason()).isEqualTo("ReconcileError");
    // Ready was already False: the transition time stays
    assertThat(status.conditions.get(2).getLastTransitionTime()).isEqualTo("2026-11-26T10:00:00Z");
  }
}
