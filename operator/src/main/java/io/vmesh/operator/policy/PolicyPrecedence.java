package io.vmesh.operator.policy;

import io.fabric8.kubernetes.api.model.Pod;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.selection.LabelSelectorMatcher;
import io.vmesh.operator.selection.Seniority;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Which MeshPolicy governs which pod. A selector policy beats the namespace policy (no selector), which
 * beats the mesh default (no selector, in the operator's namespace). Two policies of the same level that
 * claim the same pod conflict: the older one wins and the newer one is rejected as a whole, so a pod is
 * never governed by a policy that reports itself as not accepted.
 */
public final class PolicyPrecedence {

  /** Why a policy lost: the older policy it conflicts with, at which level, and the pod both claim (if selector-level). */
  public record Conflict(MeshPolicy winner, PolicyLevel level, Optional<Pod> pod) {

    public String message() {
      String winnerName = "MeshPolicy " + winner.getMetadata().getName();
      return switch (level) {
        case SELECTOR -> "pod " + pod.map(p -> p.getMetadata().getName()).orElse("?") + " is also selected by " + winnerName
            + ", which is older and takes precedence; make the selectors disjoint or merge the two policies";
        case NAMESPACE -> winnerName + " is older and already applies to the whole namespace "
            + winner.getMetadata().getNamespace() + "; keep one policy without selector per namespace";
        case MESH_DEFAULT -> winnerName + " is older and already is the mesh-wide default; keep one policy without "
            + "selector in namespace " + winner.getMetadata().getNamespace();
      };
    }
  }

  private final String operatorNamespace;
  private final Map<String, Conflict> conflicts = new HashMap<>();
  private final List<MeshPolicy> accepted = new ArrayList<>();

  /**
   * @param policies the valid policies (invalid ones take no part)
   * @param pods the pods they may select
   * @param operatorNamespace where a policy without selector is the mesh default
   */
  public PolicyPrecedence(Collection<MeshPolicy> policies, Collection<Pod> pods, String operatorNamespace) {
    this.operatorNamespace = operatorNamespace;
    List<MeshPolicy> oldestFirst = policies.stream().sorted(Seniority.OLDEST_FIRST).toList();
    for (MeshPolicy policy : oldestFirst) {
      firstConflict(policy, pods).ifPresentOrElse(c -> conflicts.put(key(policy), c), () -> accepted.add(policy));
    }
  }

  /** The conflict that rejects this policy, if it lost one. */
  public Optional<Conflict> conflictOf(MeshPolicy policy) {
    return Optional.ofNullable(conflicts.get(key(policy)));
  }

  /** The accepted policy in effect for the pod: its selector policy, else its namespace's, else the mesh default. */
  public Optional<MeshPolicy> effectiveFor(Pod pod) {
    return accepted.stream()
        .filter(p -> applies(p, pod))
        .min(Comparator.comparing((MeshPolicy p) -> PolicyLevel.of(p, operatorNamespace)));
  }

  private Optional<Conflict> firstConflict(MeshPolicy policy, Collection<Pod> pods) {
    PolicyLevel level = PolicyLevel.of(policy, operatorNamespace);
    for (MeshPolicy older : accepted) {
      if (PolicyLevel.of(older, operatorNamespace) != level
          || !Objects.equals(older.getMetadata().getNamespace(), policy.getMetadata().getNamespace())) {
        continue;
      }
      if (level != PolicyLevel.SELECTOR) {
        return Optional.of(new Conflict(older, level, Optional.empty()));
      }
      Optional<Pod> shared = pods.stream().filter(pod -> selects(older, pod) && selects(policy, pod)).findFirst();
      if (shared.isPresent()) {
        return Optional.of(new Conflict(older, level, shared));
      }
    }
    return Optional.empty();
  }

  private boolean applies(MeshPolicy policy, Pod pod) {
    return switch (PolicyLevel.of(policy, operatorNamespace)) {
      case MESH_DEFAULT -> true;
      case NAMESPACE -> sameNamespace(policy, pod);
      case SELECTOR -> selects(policy, pod);
    };
  }

  private static boolean selects(MeshPolicy policy, Pod pod) {
    return sameNamespace(policy, pod)
        && LabelSelectorMatcher.matches(policy.getSpec().selector, pod.getMetadata().getLabels());
  }

  private static boolean sameNamespace(MeshPolicy policy, Pod pod) {
    return Objects.equals(policy.getMetadata().getNamespace(), pod.getMetadata().getNamespace());
  }

  private static String key(MeshPolicy policy) {
    return policy.getMetadata().getNamespace() + "/" + policy.getMetadata().getName();
  }
}
