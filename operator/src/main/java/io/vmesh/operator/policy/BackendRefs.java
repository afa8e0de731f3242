package io.vmesh.operator.policy;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.vmesh.operator.api.HttpRoute;
import io.vmesh.operator.api.MeshPolicySpec;
import io.vmesh.operator.api.RouteDestination;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** Checks that every Service and port a MeshPolicy routes to exists in the policy's namespace. */
public final class BackendRefs {

  private BackendRefs() {
  }

  /** One message per destination that does not resolve; empty when all do. */
  public static List<String> unresolved(MeshPolicySpec spec, String namespace, Map<String, Service> servicesByName) {
    List<String> problems = new ArrayList<>();
    if (spec == null || spec.http == null) {
      return problems;
    }
    for (int i = 0; i < spec.http.size(); i++) {
      HttpRoute route = spec.http.get(i);
      if (route.route == null) {
        continue;
      }
      for (RouteDestination destination : route.route) {
        if (destination.service == null) {
          continue;
        }
        String where = "http[" + i + "]" + (route.name == null ? "" : " (" + route.name + ")");
        Service service = servicesByName.get(destination.service);
        if (service == null) {
          problems.add(where + ": Service " + namespace + "/" + destination.service + " not found");
        } else if (destination.port != null && !hasPort(service, destination.port)) {
          problems.add(where + ": Service " + namespace + "/" + destination.service + " has no port " + destination.port);
        }
      }
    }
    return problems;
  }

  private static boolean hasPort(Service service, int port) {
    List<ServicePort> ports = service.getSpec() == null ? null : service.getSpec().getPorts();
    return ports != null && ports.stream().anyMatch(p -> Objects.equals(p.getPort(), port));
  }
}
