package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** {@code TrafficCapture.status}. */
public class TrafficCaptureStatus {

  @JsonPropertyDescription("The metadata.generation this status describes.")
  public Long observedGeneration;

  @JsonPropertyDescription("Pods this TrafficCapture selects.")
  public Integer matchedPods;

  @JsonPropertyDescription("Selected pods that carry the sidecar.")
  public Integer injectedPods;

  @JsonPropertyDescription("Injected pods whose sidecar was made from an older spec: restart them to pick up the change.")
  public Integer outdatedPods;

  @JsonPropertyDescription("Accepted, Ready.")
  public List<Condition> conditions = new ArrayList<>();
}
