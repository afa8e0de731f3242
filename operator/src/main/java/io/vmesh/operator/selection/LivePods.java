package io.vmesh.operator.selection;

import io.fabric8.kubernetes.api.model.Pod;

/** Pods that still count: finished or terminating pods will not run a sidecar again. */
public final class LivePods {

  private LivePods() {
  }

  public static boolean isLive(Pod pod) {
    String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    return pod.getMetadata().getDeletionTimestamp() == null && !"Succeeded".equals(phase) && !"Failed".equals(phase);
  }
}
