package io.vmesh.operator.xds;

import java.util.Objects;

/**
 * One sidecar, named by its pod. The proxy's xDS {@code node.id} has Istio's shape,
 * {@code sidecar~<podIP>~<pod>.<namespace>~<namespace>.svc.cluster.local}, so tools that read Istio node ids
 * read ours; {@link #parseNodeId} recovers the pod from it.
 */
public record ProxyId(String namespace, String podName) {

  public ProxyId {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(podName, "podName");
  }

  /** {@code sidecar~10.88.0.10~web-1.shop~shop.svc.cluster.local} → (shop, web-1); the IP is checked elsewhere. */
  public static ProxyId parseNodeId(String nodeId) {
    String[] parts = nodeId == null ? new String[0] : nodeId.split("~", -1);
    if (parts.length != 4 || !parts[0].equals("sidecar")) {
      throw new IllegalArgumentException("node.id must be sidecar~<podIP>~<pod>.<namespace>~<namespace>.svc.cluster.local, got '" + nodeId + "'");
    }
    String podAndNs = parts[2];
    int dot = podAndNs.indexOf('.');
    if (dot <= 0 || dot == podAndNs.length() - 1) {
      throw new IllegalArgumentException("node.id's third part must be <pod>.<namespace>, got '" + podAndNs + "'");
    }
    return new ProxyId(podAndNs.substring(dot + 1), podAndNs.substring(0, dot));
  }

  public static String nodeId(String podIp, String pod, String namespace) {
    return "sidecar~" + podIp + "~" + pod + "." + namespace + "~" + namespace + ".svc.cluster.local";
  }

  @Override
  public String toString() {
    return namespace + "/" + podName;
  }
}
