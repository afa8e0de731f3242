package io.vmesh.operator.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.vmesh.proxy.config.ConfigException;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import io.vmesh.proxy.config.SupportedFields;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every golden snapshot is one the proxy takes: each resource passes the proxy's field allow-list
 * ({@code SupportedFields}), and the whole snapshot, with EDS and RDS resolved in place, passes the proxy's own
 * config builder (cluster references, overlapping filter chain matches, duplicate addresses and domains).
 */
class ProxyAcceptsSnapshotsTest {

  static Stream<String> cases() throws IOException {
    return GoldenCases.names();
  }

  @ParameterizedTest
  @MethodSource("cases")
  void everyResourcePassesTheProxysAllowList(String name) {
    GoldenCases.snapshots(name).forEach((pod, snapshot) -> {
      List<String> problems = new ArrayList<>();
      for (String type : ProxySnapshot.PUSH_ORDER) {
        List<? extends Message> resources = snapshot.resources(type);
        for (int i = 0; i < resources.size(); i++) {
          try {
            SupportedFields.check(resources.get(i), type.substring(type.lastIndexOf('.') + 1) + "[" + i + "]");
          } catch (ConfigException e) {
            problems.addAll(e.problems());
          }
        }
      }
      assertThat(problems).as("%s/%s: fields the proxy refuses", name, pod).isEmpty();
    });
  }

  @ParameterizedTest
  @MethodSource("cases")
  void theProxyBuildsItsRuntimeConfigFromEverySnapshot(String name) {
    GoldenCases.snapshots(name).forEach((pod, snapshot) -> assertThatCode(
        () -> RuntimeConfigBuilder.build(resolved(snapshot), Clock.systemUTC()))
        .as("%s/%s", name, pod)
        .doesNotThrowAnyException());
  }

  /** The snapshot as a static bootstrap: EDS clusters with their load assignment inline, RDS routes inline. */
  static Bootstrap resolved(ProxySnapshot snapshot) {
    Map<String, ClusterLoadAssignment> assignments = snapshot.endpoints().stream()
        .collect(Collectors.toMap(ClusterLoadAssignment::getClusterName, Function.identity()));
    Map<String, RouteConfiguration> routes = snapshot.routes().stream()
        .collect(Collectors.toMap(RouteConfiguration::getName, Function.identity()));
    Bootstrap.StaticResources.Builder resources = Bootstrap.StaticResources.newBuilder();
    for (Cluster cluster : snapshot.clusters()) {
      if (cluster.getType() == Cluster.DiscoveryType.EDS) {
        ClusterLoadAssignment assignment = assignments.get(cluster.getName());
        assertThat(assignment).as("load assignment of EDS cluster %s", cluster.getName()).isNotNull();
        cluster = cluster.toBuilder().clearEdsClusterConfig().setType(Cluster.DiscoveryType.STATIC).setLoadAssignment(assignment).build();
      }
      resources.addClusters(cluster);
    }
    for (Listener listener : snapshot.listeners()) {
      Listener.Builder inline = listener.toBuilder().clearFilterChains();
      for (FilterChain chain : listener.getFilterChainsList()) {
        FilterChain.Builder c = chain.toBuilder().clearFilters();
        for (Filter filter : chain.getFiltersList()) {
          c.addFilters(inlineRoutes(filter, routes));
        }
        inline.addFilterChains(c);
      }
      resources.addListeners(inline);
    }
    return Bootstrap.newBuilder().setStaticResources(resources).build();
  }

  private static Filter inlineRoutes(Filter filter, Map<String, RouteConfiguration> routes) {
    if (!filter.getTypedConfig().is(HttpConnectionManager.class)) {
      return filter;
    }
    try {
      HttpConnectionManager hcm = filter.getTypedConfig().unpack(HttpConnectionManager.class);
      if (!hcm.hasRds()) {
        return filter;
      }
      RouteConfiguration table = routes.get(hcm.getRds().getRouteConfigName());
      assertThat(table).as("route configuration %s named by RDS", hcm.getRds().getRouteConfigName()).isNotNull();
      return filter.toBuilder().setTypedConfig(com.google.protobuf.Any.pack(hcm.toBuilder().clearRds().setRouteConfig(table).build())).build();
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }
}
