package io.vmesh.operator.api;

/** Whether the proxy runs as a Kubernetes native sidecar (an init container with restartPolicy Always). */
public enum NativeSidecar {
  /** Native when the cluster supports it (Kubernetes 1.29 and later). */
  Auto,
  Enabled,
  Disabled
}
