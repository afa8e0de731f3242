package io.vmesh.apiserver.admission;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Gives a new Service of type ClusterIP (or NodePort, LoadBalancer) a virtual IP from {@code 10.96.0.0/16}, as the
 * API server's allocator does; a requested IP is kept when free, {@code None} (headless) gets none.
 */
public final class ClusterIps {

  /** Kubernetes keeps the first address of the range for the {@code kubernetes} Service. */
  private static final int FIRST = 10;
  private static final String PREFIX = "10.96.";

  /** Sets {@code spec.clusterIP(s)} on {@code service}; a refusal message when it cannot. */
  public synchronized Optional<String> allocate(ObjectNode service, List<String> used) {
    if (!service.path("spec").isObject()) {
      service.putObject("spec");
    }
    ObjectNode spec = (ObjectNode) service.path("spec");
    String type = spec.path("type").asText("ClusterIP");
    if (type.equals("ExternalName")) {
      return Optional.empty();
    }
    String requested = spec.path("clusterIP").asText("");
    if (requested.equals("None")) {
      spec.putArray("clusterIPs").add("None");
      return Optional.empty();
    }
    Set<String> taken = new HashSet<>(used);
    if (!requested.isEmpty()) {
      if (taken.contains(requested)) {
        return Optional.of("spec.clusterIP: Invalid value: \"" + requested + "\": provided IP is already allocated");
      }
      spec.putArray("clusterIPs").add(requested);
      return Optional.empty();
    }
    for (int i = FIRST; i < 65535; i++) {
      String ip = PREFIX + (i >> 8) + "." + (i & 0xff);
      if ((i & 0xff) != 0 && (i & 0xff) != 255 && !taken.contains(ip)) {
        spec.put("clusterIP", ip);
        spec.putArray("clusterIPs").add(ip);
        spec.put("type", type);
        return Optional.empty();
      }
    }
    return Optional.of("spec.clusterIP: Internal error: the service IP range 10.96.0.0/16 is full");
  }
}
