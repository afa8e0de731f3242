package io.vmesh.operator.inject;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the injection webhook records on a pod in the {@value #ANNOTATION} annotation: which TrafficCapture
 * injected it and from which version of its spec.
 *
 * @param capture name of the TrafficCapture (same namespace as the pod)
 * @param specHash {@link SpecHash} of that TrafficCapture's spec at injection time
 * @param initContainers names of the injected init containers
 * @param containers names of the injected containers
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record InjectionStatus(String capture, String specHash, List<String> initContainers, List<String> containers) {

  public static final String ANNOTATION = "vmesh.io/status";
  /** Per-pod opt-out, as in Istio's sidecar.istio.io/inject: a label (selectable) or an annotation. */
  public static final String INJECT_ANNOTATION = "vmesh.io/inject";
  /** Label on every injected pod, so that {@code kubectl get pods -l vmesh.io/injected=true} lists them. */
  public static final String INJECTED_LABEL = "vmesh.io/injected";

  private static final ObjectMapper JSON = new ObjectMapper();

  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + this, e);
    }
  }

  /** The pod's injection status; empty when it was not injected or the annotation is not readable. */
  public static Optional<InjectionStatus> of(Pod pod) {
    Map<String, String> annotations = pod.getMetadata() == null ? null : pod.getMetadata().getAnnotations();
    String json = annotations == null ? null : annotations.get(ANNOTATION);
    if (json == null || json.isBlank()) {
      return Optional.empty();
    }
    try {
      InjectionStatus status = JSON.readValue(json, InjectionStatus.class);
      return status.capture() == null ? Optional.empty() : Optional.of(status);
    } catch (JsonProcessingException e) {
      return Optional.empty();
    }
  }

  /** True when the pod asks not to be injected, by label or annotation {@value #INJECT_ANNOTATION}: "false". */
  public static boolean optedOut(Pod pod) {
    if (pod.getMetadata() == null) {
      return false;
    }
    Map<String, String> labels = pod.getMetadata().getLabels();
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    return (labels != null && "false".equalsIgnoreCase(labels.get(INJECT_ANNOTATION)))
        || (annotations != null && "false".equalsIgnoreCase(annotations.get(INJECT_ANNOTATION)));
  }
}
