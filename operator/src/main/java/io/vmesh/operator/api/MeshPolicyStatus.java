package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** {@code MeshPolicy.status}. */
public class MeshPolicyStatus {

  @JsonPropertyDescription("The metadata.generation this status describes.")
  public Long observedGeneration;

  @JsonPropertyDescription("Sidecars this policy is in effect for.")
  public ProxyCounts proxies;

  @JsonPropertyDescription("Accepted, ResolvedRefs, Ready.")
  public List<Condition> conditions = new ArrayList<>();
}
