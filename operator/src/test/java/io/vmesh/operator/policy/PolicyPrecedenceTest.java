package io.vmesh.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.MeshPolicySpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyPrecedenceTest {

  private static final String OPERATOR_NS = "vmesh-system";

  private final Pod web = pod("demo", "web-1", Map.of("app", "web", "tier", "front"));
  private final Pod db = pod("demo", "db-1", Map.of("app", "db"));
  private final Pod other = pod("shop", "cart-1", Map.of("app", "cart"));

  @Test
  void selectorBeatsNamespaceBeatsMeshDefault() {
    MeshPolicy meshDefault = policy(OPERATOR_NS, "default", "2026-01-01T00:00:00Z", null);
    MeshPolicy namespace = policy("demo", "demo-wide", "2026-01-02T00:00:00Z", null);
    MeshPolicy forWeb = policy("demo", "web", "2026-01-03T00:00:00Z", Map.of("app", "web"));

    PolicyPrecedence precedence = new PolicyPrecedence(List.of(forWeb, namespace, meshDefault), List.of(web, db, other), OPERATOR_NS);

    assertThat(precedence.effectiveFor(web)).contains(forWeb);
    assertThat(precedence.effectiveFor(db)).contains(namespace);
    assertThat(precedence.effectiveFor(other)).contains(meshDefault);
    assertThat(precedence.conflictOf(forWeb)).isEmpty();
    assertThat(precedence.conflictOf(namespace)).isEmpty();
    assertThat(precedence.conflictOf(meshDefault)).isEmpty();
  }

  @Test
  void twoSelectorPoliciesOnOnePodTheOlderWinsAndTheNewerIsNamedConflicted() {
    MeshPolicy older = policy("demo", "web-a", "2026-01-01T00:00:00Z", Map.of("app", "web"));
    MeshPolicy newer = policy("demo", "front", "2026-01-05T00:00:00Z", Map.of("tier", "front"));

    PolicyPrecedence precedence = new PolicyPrecedence(List.of(newer, older), List.of(web, db), OPERATOR_NS);

    assertThat(precedence.conflictOf(older)).isEmpty();
    assertThat(precedence.conflictOf(newer)).hasValueSatisfying(c -> {
      assertThat(c.winner()).isSameAs(older);
      assertThat(c.message()).startsWith("pod web-1 is also selected by MeshPolicy web-a, which is older");
    });
    assertThat(precedence.effectiveFor(web)).contains(older);
  }

  @Test
  void sameCreationTimeFallsBackToTheName() {
    MeshPolicy b = policy("demo", "b", "2026-01-01T00:00:00Z", Map.of("app", "web"));
    MeshPolicy a = policy("demo", "a", "2026-01-01T00:00:00Z", Map.of("app", "web"));

    PolicyPrecedence precedence = new PolicyPrecedence(List.of(b, a), List.of(web), OPERATOR_NS);

    assertThat(precedence.conflictOf(a)).isEmpty();
    assertThat(precedence.conflictOf(b)).map(c -> c.winner().getMetadata().getName()).contains("a");
  }

  @Test
  void selectorPoliciesThatShareNoPodDoNotConflict() {
    MeshPolicy forWeb = policy("demo", "web", "2026-01-01T00:00:00Z", Map.of("app", "web"));
    MeshPolicy forDb = policy("demo", "db", "2026-01-02T00:00:00Z", Map.of("app", "db"));

    PolicyPrecedence precedence = new PolicyPrecedence(List.of(forWeb, forDb), List.of(web, db), OPERATOR_NS);

    assertThat(precedence.conflictOf(forDb)).isEmpty();
    assertThat(precedence.effectiveFor(db)).contains(forDb);
  }

  @Test
  void twoNamespacePoliciesConflictEvenWithoutPods() {
    MeshPolicy first = policy("demo", "first", "2026-01-01T00:00:00Z", null);
    MeshPolicy second = policy("demo", "second", "2026-01-02T00:00:00Z", null);

    PolicyPrecedence precedence = new PolicyPrecedence(List.of(second, first), List.of(), OPERATOR_NS);

    assertThat(precedence.conflictOf(second)).hasValueSatisfying(c ->
        assertThat(c.message()).isEqualTo("MeshPolicy first is older and already applies to the whole namespace demo; "
            + "keep one policy without selector per namespace"));
    assertThat(precedence.conflictOf(first)).isEmpty();
  }

  @Test
  void aRejectedPolicyDoesNotBlockOthers() {
    MeshPolicy a = policy("demo", "a", "2026-01-01T00:00:00Z", Map.of("app", "web"));
    MeshPolicy b = policy("demo", "b", "2026-01-02T00:00:00Z", Map.of("tier", "front"));
    Pod onlyB = pod("demo", "front-2", Map.of("tier", "front", "app", "shop"));
    MeshPolicy c = policy("demo", "c", "2026-01-03T00:00:00Z", Map.of("app", "shop"));

    PolicyPrecedence precedence = new PolicyPrecedence(List.of(a, b, c), List.of(web, onlyB), OPERATOR_NS);

    assertThat(precedence.conflictOf(b)).isPresent();
    // b lost to a as a whole, so it claims nothing and c governs front-2 alone
    assertThat(precedence.conflictOf(c)).isEmpty();
    assertThat(precedence.effectiveFor(onlyB)).contains(c);
  }

  @Test
  void meshDefaultsConflictWithEachOther() {
    MeshPolicy first = policy(OPERATOR_NS, "default", "2026-01-01T00:00:00Z", null);
    MeshPolicy second = policy(OPERATOR_NS, "strict", "2026-01-02T00:00:00Z", null);

    PolicyPrecedence precedence = new PolicyPrecedence(List.of(first, second), List.of(other), OPERATOR_NS);

    assertThat(precedence.conflictOf(second)).hasValueSatisfying(c -> assertThat(c.message()).contains("mesh-wide default"));
    assertThat(precedence.effectiveFor(other)).contains(first);
  }

  static MeshPolicy policy(String namespace, String name, String created, Map<String, String> selector) {
    MeshPolicy policy = new MeshPolicy();
    policy.getMetadata().setNamespace(namespace);
    policy.getMetadata().setName(name);
    policy.getMetadata().setCreationTimestamp(created);
    policy.setSpec(new MeshPolicySpec());
    if (selector != null) {
      policy.getSpec().selector = new LabelSelectorBuilder().withMatchLabels(selector).build();
    }
    return policy;
  }

  static Pod pod(String namespace, String name, Map<String, String> labels) {
    return new PodBuilder().withNewMetadata().withNamespace(namespace).withName(name).withLabels(labels).endMetadata().build();
  }
}
