package io.vmesh.operator.api;

/** What the proxy does with a connection to a destination the mesh does not know. */
public enum OutboundTrafficPolicy {
  /** Forward it to the original destination (PassthroughCluster). */
  ALLOW_ANY,
  /** Refuse it (BlackHoleCluster). */
  REGISTRY_ONLY
}
