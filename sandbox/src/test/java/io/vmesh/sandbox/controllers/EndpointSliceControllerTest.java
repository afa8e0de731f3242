package io.vmesh.sandbox.controllers;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.util.List;
import org.junit.jupiter.api.Test;

class EndpointSliceControllerTest {

  private static Pod pod(String name, String app, String ip, boolean ready, int port) {
    return new PodBuilder().withNewMetadata().withName(name).withNamespace("shop").withUid("uid-" + name).addToLabels("app", app).endMetadata()
        .withNewSpec().addNewContainer().withName("c").addNewPort().withName("http").withContainerPort(port).endPort().endContainer().endSpec()
        .withNewStatus().withPhase("Running").withPodIP(ip)
        .addNewCondition().withType("Ready").withStatus(ready ? "True" : "False").endCondition().endStatus().build();
  }

  private static final Service REVIEWS = new ServiceBuilder().withNewMetadata().withName("reviews").withNamespace("shop").withUid("s1").endMetadata()
      .withNewSpec().addToSelector("app", "reviews").withClusterIP("10.96.0.13")
      .addNewPort().withName("http-api").withPort(9080).withTargetPort(new IntOrString("http")).endPort().endSpec().build();

  @Test
  void selectedPodsBecomeEndpointsReadyFromTheirConditionWithTheNamedPortResolved() {
    List<EndpointSlice> slices = EndpointSliceController.desired(REVIEWS, List.of(
        pod("reviews-1", "reviews", "10.88.0.12", true, 9080),
        pod("reviews-2", "reviews", "10.88.0.13", false, 9080),
        pod("details-1", "details", "10.88.0.10", true, 9080)));
    assertThat(slices).singleElement().satisfies(s -> {
      assertThat(s.getMetadata().getLabels()).containsEntry("kubernetes.io/service-name", "reviews");
      assertThat(s.getPorts()).singleElement().satisfies(p -> {
        assertThat(p.getName()).isEqualTo("http-api");
        assertThat(p.getPort()).isEqualTo(9080);
      });
      assertThat(s.getEndpoints()).extracting(e -> e.getAddresses().get(0) + " " + e.getConditions().getReady())
          .containsExactly("10.88.0.12 true", "10.88.0.13 false");
    });
    assertThat(ServiceProxy.readyEndpoints(REVIEWS, "http-api", slices, "IPv4")).containsExactly("10.88.0.12:9080");
  }

  @Test
  void podsWhereTheNamedPortIsADifferentNumberGetASliceOfTheirOwn() {
    List<EndpointSlice> slices = EndpointSliceController.desired(REVIEWS, List.of(
        pod("reviews-1", "reviews", "10.88.0.12", true, 9080), pod("reviews-2", "reviews", "10.88.0.13", true, 9081)));
    assertThat(slices).hasSize(2);
    assertThat(ServiceProxy.readyEndpoints(REVIEWS, "http-api", slices, "IPv4")).containsExactly("10.88.0.12:9080", "10.88.0.13:9081");
  }

  @Test
  void aDualStackServiceGetsASliceOfIpv6AddressesBesideTheIpv4One() {
    Service dual = new ServiceBuilder(REVIEWS).editSpec().withClusterIPs("10.96.0.13", "fd00:10:96::d").withIpFamilies("IPv4", "IPv6")
        .withIpFamilyPolicy("RequireDualStack").endSpec().build();
    Pod pod = new PodBuilder(pod("reviews-1", "reviews", "10.88.0.12", true, 9080)).editStatus()
        .addNewPodIP().withIp("10.88.0.12").endPodIP().addNewPodIP().withIp("fd88::c").endPodIP().endStatus().build();
    Pod v4Only = pod("reviews-2", "reviews", "10.88.0.13", true, 9080);
    List<EndpointSlice> slices = EndpointSliceController.desired(dual, List.of(pod, v4Only));
    assertThat(slices).extracting(s -> s.getMetadata().getName() + " " + s.getAddressType())
        .containsExactly("reviews-vmesh IPv4", "reviews-vmesh-v6 IPv6");
    assertThat(slices.get(1).getEndpoints()).extracting(e -> e.getAddresses().get(0)).containsExactly("fd88::c");
    assertThat(ServiceProxy.readyEndpoints(dual, "http-api", slices, "IPv6")).containsExactly("fd88::c:9080");
    assertThat(ServiceProxy.readyEndpoints(dual, "http-api", slices, "IPv4")).containsExactly("10.88.0.12:9080", "10.88.0.13:9080");
    Service v6Only = new ServiceBuilder(REVIEWS).editSpec().withIpFamilies("IPv6").endSpec().build();
    assertThat(EndpointSliceController.desired(v6Only, List.of(pod))).singleElement()
        .satisfies(s -> assertThat(s.getAddressType()).isEqualTo("IPv6"));
  }

  @Test
  void aServiceWithoutPodsHasAnEmptySlice() {
    assertThat(EndpointSliceController.desired(REVIEWS, List.of())).singleElement()
        .satisfies(s -> assertThat(s.getEndpoints()).isEmpty());
  }
}
