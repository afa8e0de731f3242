package io.vmesh.operator.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.vmesh.operator.api.HttpRoute;
import io.vmesh.operator.api.MeshPolicySpec;
import io.vmesh.operator.api.RouteDestination;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BackendRefsTest {

  private final Service reviews = new ServiceBuilder().withNewMetadata().withName("reviews").endMetadata()
      .withNewSpec().addNewPort().withPort(9080).endPort().endSpec().build();

  @Test
  void everyMissingServiceOrPortIsNamed() {
    MeshPolicySpec spec = new MeshPolicySpec();
    spec.http = List.of(route("split", destination("reviews", 9080), destination("reviews", 8080), destination("ratings", 9080)));

    assertThat(BackendRefs.unresolved(spec, "demo", Map.of("reviews", reviews))).containsExactly(
        "http[0] (split): Service demo/reviews has no port 8080",
        "http[0] (split): Service demo/ratings not found");
  }

  @Test
  void resolvedRoutesAndNoRoutesAreFine() {
    MeshPolicySpec spec = new MeshPolicySpec();
    assertThat(BackendRefs.unresolved(spec, "demo", Map.of())).isEmpty();
    spec.http = List.of(route("r", destination("reviews", 9080)));
    assertThat(BackendRefs.unresolved(spec, "demo", Map.of("reviews", reviews))).isEmpty();
  }

  private static HttpRoute route(String name, RouteDestination... destinations) {
    HttpRoute route = new HttpRoute();
    route.name = name;
    route.route = List.of(destinations);
    return route;
  }

  private static RouteDestination destination(String service, int port) {
    RouteDestination destination = new RouteDestination();
    destination.service = service;
    destination.port = port;
    return destination;
  }
}
