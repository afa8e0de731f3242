package io.vmesh.operator.capture;

import io.fabric8.kubernetes.api.model.Pod;
import io.vmesh.operator.inject.InjectionStatus;
import java.util.Collection;

/**
 * What a TrafficCapture has done to the pods it selects.
 *
 * @param matched selected pods (running or pending, not opted out)
 * @param injected of those, the ones this TrafficCapture injected
 * @param outdated of those, the ones injected from an older spec (they need a restart)
 */
public record CaptureCounts(int matched, int injected, int outdated) {

  /** Counts the pods the capture selects; {@code specHash} is the capture's current {@code SpecHash}. */
  public static CaptureCounts of(String captureName, String specHash, Collection<Pod> selectedPods) {
    int injected = 0;
    int outdated = 0;
    for (Pod pod : selectedPods) {
      var status = InjectionStatus.of(pod).filter(s -> captureName.equals(s.capture()));
      if (status.isPresent()) {
        injected++;
        if (!specHash.equals(status.get().specHash())) {
          outdated++;
        }
      }
    }
    return new CaptureCounts(selectedPods.size(), injected, outdated);
  }
}
