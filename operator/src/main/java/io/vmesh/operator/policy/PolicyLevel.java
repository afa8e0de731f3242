package io.vmesh.operator.policy;

import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.selection.LabelSelectorMatcher;

/** The three precedence levels of a MeshPolicy, strongest first. */
public enum PolicyLevel {
  /** Has a selector: applies to the pods it selects in its namespace. */
  SELECTOR,
  /** No selector: applies to every pod of its namespace. */
  NAMESPACE,
  /** No selector, in the operator's namespace: applies to every pod of the mesh. */
  MESH_DEFAULT;

  public static PolicyLevel of(MeshPolicy policy, String operatorNamespace) {
    if (policy.getSpec() != null && !LabelSelectorMatcher.isEmpty(policy.getSpec().selector)) {
      return SELECTOR;
    }
    return operatorNamespace.equals(policy.getMetadata().getNamespace()) ? MESH_DEFAULT : NAMESPACE;
  }
}
