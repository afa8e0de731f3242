package io.vmesh.operator.xds;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.inject.Manifests;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The inputs of config generation at one moment: the five kinds the informers watch, and the operator's
 * namespace (where a MeshPolicy without selector is the mesh-wide default).
 */
public record ClusterState(List<Service> services, List<EndpointSlice> endpointSlices, List<Pod> pods,
                           List<TrafficCapture> captures, List<MeshPolicy> policies, String operatorNamespace) {

  private static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
      "Service", Service.class, "EndpointSlice", EndpointSlice.class, "Pod", Pod.class,
      "TrafficCapture", TrafficCapture.class, "MeshPolicy", MeshPolicy.class);

  public ClusterState {
    services = List.copyOf(services);
    endpointSlices = List.copyOf(endpointSlices);
    pods = List.copyOf(pods);
    captures = List.copyOf(captures);
    policies = List.copyOf(policies);
    Objects.requireNonNull(operatorNamespace, "operatorNamespace");
  }

  /** Multi-document YAML of objects of the five kinds (the golden tests' input); {@code source} names it in errors. */
  public static ClusterState fromYaml(String yaml, String source, String operatorNamespace) {
    List<Service> services = new ArrayList<>();
    List<EndpointSlice> slices = new ArrayList<>();
    List<Pod> pods = new ArrayList<>();
    List<TrafficCapture> captures = new ArrayList<>();
    List<MeshPolicy> policies = new ArrayList<>();
    List<HasMetadata> objects = Manifests.read(yaml, source, KINDS::get,
        "is not an input of config generation; expected one of " + new TreeSet<>(KINDS.keySet()));
    for (HasMetadata object : objects) {
      if (object.getMetadata().getNamespace() == null) {
        throw new IllegalArgumentException(source + ": " + object.getKind() + " " + object.getMetadata().getName()
            + " has no metadata.namespace");
      }
      if (object instanceof Service s) {
        services.add(s);
      } else if (object instanceof EndpointSlice e) {
        slices.add(e);
      } else if (object instanceof Pod p) {
        pods.add(p);
      } else if (object instanceof TrafficCapture t) {
        captures.add(t);
      } else {
        policies.add((MeshPolicy) object);
      }
    }
    return new ClusterState(services, slices, pods, captures, policies, operatorNamespace);
  }
}
