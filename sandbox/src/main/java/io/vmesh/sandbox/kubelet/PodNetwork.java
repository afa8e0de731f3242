package io.vmesh.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.Pod;
import io.vmesh.sandbox.topology.Topology;

/** What else must know of a pod's network namespace: the service proxy writes its hosts file. */
public interface PodNetwork {

  void podAdded(io.vmesh.sandbox.topology.Pod netns, Pod pod);

  void podRemoved(io.vmesh.sandbox.topology.Pod netns);

  /**
   * A namespace name for the pod, unique among live pods: {@code <pod name>} cut to fit, with a counter when
   * another pod already has it (two namespaces may hold pods of the same name).
   */
  static String netnsName(Pod pod, Topology topology) {
    String base = pod.getMetadata().getName().toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9-]", "-");
    if (!Character.isLetter(base.charAt(0))) {
      base = "p" + base;
    }
    base = base.length() > 26 ? base.substring(0, 26) : base;
    java.util.Set<String> taken = new java.util.HashSet<>();
    topology.pods().forEach(p -> taken.add(p.name()));
    String name = base;
    for (int i = 2; taken.contains(name); i++) {
      name = base + "-" + i;
    }
    return name.replaceAll("-+$", "");
  }
}
