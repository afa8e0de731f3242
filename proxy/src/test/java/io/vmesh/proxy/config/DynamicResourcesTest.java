package io.vmesh.proxy.config;

import static io.vmesh.proxy.config.XdsFixtures.cla;
import static io.vmesh.proxy.config.XdsFixtures.eds;
import static io.vmesh.proxy.config.XdsFixtures.http;
import static io.vmesh.proxy.config.XdsFixtures.routes;
import static io.vmesh.proxy.config.XdsFixtures.tcp;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.vmesh.proxy.config.XdsResources.Type;
import io.vmesh.proxy.listener.FilterChainMatcher.Connection;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Building a configuration from a bootstrap with ADS plus xDS resources: EDS endpoints, RDS routes,
 * warming, the checks of the ADS bootstrap, and problems named by resource and field path (the NACK text).
 */
class DynamicResourcesTest {

  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-26T12:00:00Z"), ZoneOffset.UTC);

  private static Bootstrap bootstrap() throws ConfigException {
    return BootstrapLoader.parse(XdsFixtures.adsBootstrap("STRICT_DNS", "vmesh-operator.vmesh-system.svc", 15010), false);
  }

  private static XdsResources xds(Type type, Message... resources) {
    return XdsResources.EMPTY.with(type, byName(resources), "v1", CLOCK.instant());
  }

  private static Map<String, Message> byName(Message... resources) {
    Map<String, Message> m = new LinkedHashMap<>();
    for (Message r : resources) {
      String name = r instanceof Cluster c ? c.getName() : r instanceof ClusterLoadAssignment a ? a.getClusterName()
          : r instanceof Listener l ? l.getName() : ((RouteConfiguration) r).getName();
      m.put(name, r);
    }
    return m;
  }

  @Test
  void theAdsClusterIsTheClientsAndTheConfigWaitsForCdsAndLds() throws Exception {
    RuntimeConfig config = RuntimeConfigBuilder.build(bootstrap(), CLOCK);

    assertThat(config.ads()).hasValue(new AdsConfig("xds-grpc", List.of(new AdsConfig.Endpoint("vmesh-operator.vmesh-system.svc", 15010)),
        java.util.Optional.empty(), RuntimeConfigBuilder.DEFAULT_CONNECT_TIMEOUT_MILLIS));
    assertThat(config.clusters()).doesNotContainKey("xds-grpc");
    assertThat(config.complete()).isFalse();
  }

  @Test
  void edsClustersTakeTheirEndpointsFromTheAssignmentAndWarmWithoutOne() throws Exception {
    XdsResources clusters = xds(Type.CLUSTER, eds("a", ""), eds("b", "b-endpoints"), eds("c", ""));
    XdsResources all = clusters.with(Type.ENDPOINT, byName(cla("a", 7001, 7002), cla("b-endpoints", 7003)), "e1", CLOCK.instant())
        .with(Type.LISTENER, Map.of(), "l1", CLOCK.instant());

    RuntimeConfig config = RuntimeConfigBuilder.build(bootstrap(), all, null, CLOCK);

    assertThat(config.clusters().get("a").endpoints()).containsExactly(loopback(7001), loopback(7002));
    assertThat(config.clusters().get("b").endpoints()).containsExactly(loopback(7003));
    assertThat(config.clusters().get("c").endpoints()).isEmpty();
    assertThat(config.warmingClusters()).containsExactly("c");
    assertThat(config.complete()).isFalse();
    assertThat(config.configDump()).contains("\"dynamic_warming_clusters\"", "\"dynamic_active_clusters\"", "\"version_info\": \"e1\"");
  }

  @Test
  void aListenerWaitsForItsRoutesWhileItsRunningVersionServesOn() throws Exception {
    XdsResources base = xds(Type.CLUSTER, eds("web", ""), eds("api", ""))
        .with(Type.ENDPOINT, byName(cla("web", 7001), cla("api", 7002)), "e1", CLOCK.instant());
    XdsResources first = base.with(Type.LISTENER, byName(http("http", 8080, "r1")), "l1", CLOCK.instant());

    RuntimeConfig warming = RuntimeConfigBuilder.build(bootstrap(), first, null, CLOCK);
    assertThat(warming.listeners()).isEmpty();
    assertThat(warming.warmingListeners()).containsExactly("http");
    assertThat(warming.complete()).isFalse();

    RuntimeConfig running = RuntimeConfigBuilder.build(bootstrap(),
        first.with(Type.ROUTE, byName(routes("r1", "web")), "r1", CLOCK.instant()), warming, CLOCK);
    assertThat(running.listeners()).containsKey("http");
    assertThat(running.complete()).isTrue();
    assertThat(route(running)).isEqualTo("web");

    // a new version names routes that have not come: the running one stays, the new one warms
    XdsResources second = running.xds().with(Type.LISTENER, byName(http("http", 8080, "r2")), "l2", CLOCK.instant());
    RuntimeConfig next = RuntimeConfigBuilder.build(bootstrap(), second, running, CLOCK);
    assertThat(next.listeners()).containsKey("http");
    assertThat(next.activeListeners().get("http").version()).isEqualTo("l1");
    assertThat(next.warmingListeners()).containsExactly("http");
    assertThat(next.configDump()).contains("\"active_state\"", "\"warming_state\"", "\"version_info\": \"l2\"");

    RuntimeConfig arrived = RuntimeConfigBuilder.build(bootstrap(),
        second.with(Type.ROUTE, byName(routes("r2", "api")), "r2", CLOCK.instant()), next, CLOCK);
    assertThat(arrived.activeListeners().get("http").version()).isEqualTo("l2");
    assertThat(arrived.warmingListeners()).isEmpty();
    assertThat(route(arrived)).isEqualTo("api");
  }

  @Test
  void aClusterThatCdsDoesNotHaveHasNoEndpointsInsteadOfRefusingTheUpdate() throws Exception {
    XdsResources xds = xds(Type.CLUSTER).with(Type.LISTENER, byName(tcp("tcp", 9000, "gone")), "l1", CLOCK.instant());

    RuntimeConfig config = RuntimeConfigBuilder.build(bootstrap(), xds, null, CLOCK);

    assertThat(config.clusters().get("gone").endpoints()).isEmpty();
  }

  @Test
  void problemsInXdsResourcesAreNamedByResourceAndFieldPath() throws Exception {
    Cluster unsupported = eds("a", "").toBuilder().setRespectDnsTtl(true).build();
    ClusterLoadAssignment badAddress = cla("b", 7001).toBuilder().setEndpoints(0, LocalityLbEndpoints.newBuilder()
        .addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(Endpoint.newBuilder().setAddress(Address.newBuilder()
            .setSocketAddress(SocketAddress.newBuilder().setAddress("web.example").setPortValue(80)))))).build();
    Cluster notAds = eds("c", "").toBuilder().setEdsClusterConfig(Cluster.EdsClusterConfig.getDefaultInstance()).build();
    XdsResources xds = xds(Type.CLUSTER, unsupported, notAds, eds("b", ""))
        .with(Type.ENDPOINT, byName(badAddress), "e1", CLOCK.instant())
        // keyed as the client keys it, by name, yet naming another: only a hand-made map can do that
        .with(Type.ROUTE, Map.of("r", routes("other", "b")), "r1", CLOCK.instant());

    assertThatThrownBy(() -> RuntimeConfigBuilder.build(bootstrap(), xds, null, CLOCK))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "clusters[a].respect_dns_ttl: field not supported by vmesh-proxy (envoy.config.cluster.v3.Cluster supports name, "
                + "type, lb_policy, connect_timeout, load_assignment, upstream_bind_config, outlier_detection, "
                + "typed_extension_protocol_options, eds_cluster_config, transport_socket; "
                + "see docs/proxy-config.md)"));

    XdsResources supported = xds.with(Type.CLUSTER, byName(eds("a", ""), notAds, eds("b", "")), "c2", CLOCK.instant());
    assertThatThrownBy(() -> RuntimeConfigBuilder.build(bootstrap(), supported, null, CLOCK))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "endpoints[b].endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: 'web.example' is not an IP address",
            "clusters[c].eds_cluster_config.eds_config: only ads: {} is supported (endpoints come over the ADS stream)",
            "route_configs[r].name: 'other' differs from the resource's name"));
  }

  @Test
  void theAdsBootstrapIsChecked() {
    String dnsCluster = """
        static_resources:
          clusters:
          - name: dns
            type: STRICT_DNS
            load_assignment:
              endpoints:
              - lb_endpoints: [ { endpoint: { address: { socket_address: { address: example.com, port_value: 80 } } } } ]
        """;
    String rest = """
        dynamic_resources:
          ads_config: { api_type: REST, grpc_services: [ { envoy_grpc: { cluster_name: nowhere } } ] }
        """;
    assertThatThrownBy(() -> RuntimeConfigBuilder.build(BootstrapLoader.parse(rest + """
          lds_config: { path_config_source: { path: /etc/lds.yaml } }
        """ + dnsCluster, false), CLOCK))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "dynamic_resources.lds_config.path_config_source: field not supported by vmesh-proxy "
                + "(envoy.config.core.v3.ConfigSource supports ads, resource_api_version; see docs/proxy-config.md)"));
    assertThatThrownBy(() -> RuntimeConfigBuilder.build(BootstrapLoader.parse(rest + dnsCluster, false), CLOCK))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "static_resources.clusters[0].type: STRICT_DNS is supported only for the cluster that dynamic_resources.ads_config names",
            "dynamic_resources.ads_config.api_type: REST is not supported (GRPC)",
            "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: 'nowhere' is not a cluster of static_resources"));
  }

  private static String route(RuntimeConfig config) {
    return config.listeners().get("http").chainFor(Connection.tcp(loopback(8080), loopback(40000))).orElseThrow().http().routes()
        .route("host", "/", h -> null).orElseThrow().action().clusters().pick();
  }

  static InetSocketAddress loopback(int port) {
    return new InetSocketAddress("127.0.0.1", port);
  }
}
