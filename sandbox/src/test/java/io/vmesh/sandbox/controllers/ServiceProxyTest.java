package io.vmesh.sandbox.controllers;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServiceProxyTest {

  private static Service service(String name, String ns, String ip, String portName, int port) {
    return new ServiceBuilder().withNewMetadata().withName(name).withNamespace(ns).endMetadata()
        .withNewSpec().withClusterIP(ip).addNewPort().withName(portName).withPort(port).endPort().endSpec().build();
  }

  private static EndpointSlice slice(String service, String ns, String portName, int port, String... ips) {
    EndpointSliceBuilder b = new EndpointSliceBuilder().withNewMetadata().withName(service + "-x").withNamespace(ns)
        .addToLabels("kubernetes.io/service-name", service).endMetadata().withAddressType(ips[0].contains(":") ? "IPv6" : "IPv4")
        .addNewPort().withName(portName).withPort(port).endPort();
    for (String ip : ips) {
      b.addNewEndpoint().withAddresses(ip).withNewConditions().withReady(true).endConditions().endEndpoint();
    }
    return b.build();
  }

  @Test
  void eachServicePortPicksOneReadyEndpointAtRandomAndOneWithoutIsRejected() {
    String rules = ServiceProxy.rules(
        List.of(service("reviews", "shop", "10.96.0.13", "http-api", 9080), service("details", "shop", "10.96.0.11", "tcp-details", 9091)),
        List.of(slice("reviews", "shop", "http-api", 9080, "10.88.0.12", "10.88.0.13")), "IPv4");
    assertThat(rules).contains("-A VMESH-SERVICES -d 10.96.0.13/32 -p tcp --dport 9080 -m comment --comment \"shop/reviews:http-api\" -j VMESH-SVC-")
        .contains("-m statistic --mode random --probability 0.50000000000 -j VMESH-SEP-")
        .contains("-j DNAT --to-destination 10.88.0.12:9080").contains("-j DNAT --to-destination 10.88.0.13:9080")
        .contains("-s 10.88.0.12/32 -j VMESH-MARK-MASQ")
        .contains("-A VMESH-SERVICES -d 10.96.0.11/32 -p tcp --dport 9091 -m comment --comment \"shop/details:tcp-details has no endpoints\" "
            + "-j REJECT --reject-with tcp-reset");
    assertThat(rules.lines().filter(l -> l.equals("COMMIT"))).hasSize(2);
  }

  private static Service dualStack(String name, String ns, String ip4, String ip6, String portName, int port) {
    return new ServiceBuilder(service(name, ns, ip4, portName, port)).editSpec().withClusterIPs(ip4, ip6).withIpFamilies("IPv4", "IPv6")
        .withIpFamilyPolicy("PreferDualStack").endSpec().build();
  }

  @Test
  void ipv6ClusterIpsGetTheSameRulesThroughIp6tablesToTheIpv6Slice() {
    List<Service> services = List.of(dualStack("reviews", "shop", "10.96.0.13", "fd00:10:96::d", "http-api", 9080),
        service("details", "shop", "10.96.0.11", "tcp-details", 9091));
    List<EndpointSlice> slices = List.of(slice("reviews", "shop", "http-api", 9080, "10.88.0.12"),
        slice("reviews", "shop", "http-api", 9080, "fd88::c"));
    String v6 = ServiceProxy.rules(services, slices, "IPv6");
    assertThat(v6).contains("-A VMESH-SERVICES -d fd00:10:96::d/128 -p tcp --dport 9080 -m comment --comment \"shop/reviews:http-api\" -j VMESH-SVC-")
        .contains("-s fd88::c/128 -j VMESH-MARK-MASQ").contains("-j DNAT --to-destination [fd88::c]:9080")
        .doesNotContain("10.").doesNotContain("details");
    String v4 = ServiceProxy.rules(services, slices, "IPv4");
    assertThat(v4).contains("-d 10.96.0.13/32").contains("--to-destination 10.88.0.12:9080").doesNotContain("fd88").doesNotContain("fd00");
  }

  @Test
  void aDualStackServiceHasAHostsLinePerAddressPrimaryFirst() {
    String hosts = ServiceProxy.hosts("10.88.0.11", "web-1", "shop",
        List.of(dualStack("reviews", "shop", "10.96.0.13", "fd00:10:96::d", "http", 9080)));
    assertThat(hosts).contains("10.96.0.13\treviews.shop.svc.cluster.local reviews.shop.svc reviews.shop reviews\n"
        + "fd00:10:96::d\treviews.shop.svc.cluster.local reviews.shop.svc reviews.shop reviews\n");
    assertThat(ServiceProxy.GAI_CONF).contains("precedence ::ffff:0:0/96 100");
  }

  @Test
  void hostsNameServicesFullyEverywhereAndShortInTheirOwnNamespace() {
    String hosts = ServiceProxy.hosts("10.88.0.11", "web-1", "shop",
        List.of(service("reviews", "shop", "10.96.0.13", "http", 9080), service("vmesh-operator", "vmesh-system", "10.96.0.10", "x", 1)));
    assertThat(hosts).contains("10.88.0.11\tweb-1\n")
        .contains("10.96.0.13\treviews.shop.svc.cluster.local reviews.shop.svc reviews.shop reviews\n")
        .contains("10.96.0.10\tvmesh-operator.vmesh-system.svc.cluster.local vmesh-operator.vmesh-system.svc vmesh-operator.vmesh-system\n");
  }
}
