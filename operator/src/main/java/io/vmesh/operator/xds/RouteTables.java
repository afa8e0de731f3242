package io.vmesh.operator.xds;

import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.vmesh.operator.api.OutboundTrafficPolicy;
import io.vmesh.operator.xds.MeshModel.Destination;
import io.vmesh.operator.xds.MeshModel.RouteModel;
import io.vmesh.operator.xds.MeshModel.ServiceModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Outbound route configurations, one per HTTP port and named by it (what the {@code 0.0.0.0_<port>} listeners ask
 * for by RDS): a virtual host per Service on that port, answering to every name a client in the proxy's namespace
 * may use, with the MeshPolicy's routes before the default one.
 */
final class RouteTables {

  static final String ALLOW_ANY = "allow_any";
  static final String BLOCK_ALL = "block_all";
  /** Istio's default: no route timeout unless the policy sets one (the proxy's own default is 15 s). */
  private static final Duration NO_TIMEOUT = Duration.getDefaultInstance();

  private RouteTables() {
  }

  /**
   * @param services the HTTP (declared or sniffed) Services on this port
   * @param routes the MeshPolicy routes of the proxy, in order
   */
  static RouteConfiguration forPort(int port, List<ServiceModel> services, String proxyNamespace, List<RouteModel> routes,
      OutboundTrafficPolicy outbound) {
    Map<String, HostBuilder> hosts = new LinkedHashMap<>();
    for (ServiceModel service : services) {
      String name = service.host() + ":" + port;
      hosts.put(name, new HostBuilder(name, domains(service, port, proxyNamespace), SnapshotGenerator.outboundCluster(port, service.host())));
    }
    // unknown hosts: forwarded as addressed (ALLOW_ANY) or refused (REGISTRY_ONLY)
    String catchAll = outbound == OutboundTrafficPolicy.ALLOW_ANY ? ALLOW_ANY : BLOCK_ALL;
    HostBuilder unknown = new HostBuilder(catchAll, new LinkedHashSet<>(List.of("*")),
        outbound == OutboundTrafficPolicy.ALLOW_ANY ? ClusterResources.PASSTHROUGH : ClusterResources.BLACK_HOLE);
    hosts.put(catchAll, unknown);
    for (RouteModel route : routes) {
      if (route.destinations().stream().noneMatch(d -> d.port() == port)) {
        continue;
      }
      Route built = route(route);
      if (route.hosts().isEmpty()) {
        // no hosts: the route takes the requests addressed to the Services it sends to
        route.destinations().stream().filter(d -> d.port() == port).map(d -> d.service().host() + ":" + port).distinct()
            .map(hosts::get).filter(h -> h != null).forEach(h -> h.routes.add(built));
        continue;
      }
      for (String host : route.hosts()) {
        HostBuilder owner = hosts.values().stream().filter(h -> h.domains.contains(host)).findFirst()
            .orElseGet(() -> hosts.computeIfAbsent(host, h -> new HostBuilder(h, new LinkedHashSet<>(List.of(h, h + ":" + port)), null)));
        if (!owner.routes.contains(built)) {
          owner.routes.add(built);
        }
      }
    }
    RouteConfiguration.Builder config = RouteConfiguration.newBuilder().setName(Integer.toString(port));
    hosts.values().stream().filter(h -> h != unknown).forEach(h -> config.addVirtualHosts(h.build()));
    config.addVirtualHosts(unknown.build());
    return config.build();
  }

  /** {@code name} (same namespace only, as Istio: short names resolve in the client's namespace), {@code name.ns}, {@code name.ns.svc}, the FQDN, the cluster IPs; each also with {@code :port}. */
  static Set<String> domains(ServiceModel service, int port, String proxyNamespace) {
    List<String> names = new ArrayList<>();
    if (service.namespace().equals(proxyNamespace)) {
      names.add(service.name());
    }
    names.add(service.name() + "." + service.namespace());
    names.add(service.name() + "." + service.namespace() + ".svc");
    names.add(service.host());
    // an IPv6 address is bracketed in Host and :authority
    service.clusterIps().forEach(ip -> names.add(ip.contains(":") ? "[" + ip + "]" : ip));
    Set<String> domains = new LinkedHashSet<>();
    for (String name : names) {
      domains.add(name);
      domains.add(name + ":" + port);
    }
    return domains;
  }

  private static Route route(RouteModel model) {
    RouteMatch.Builder match = RouteMatch.newBuilder().setPrefix(model.pathPrefix().orElse("/"));
    model.headers().forEach((name, value) -> match.addHeaders(HeaderMatcher.newBuilder().setName(name)
        .setStringMatch(StringMatcher.newBuilder().setExact(value))));
    RouteAction.Builder action = RouteAction.newBuilder();
    if (model.destinations().size() == 1) {
      action.setCluster(model.destinations().get(0).cluster());
    } else {
      WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
      for (Destination d : model.destinations()) {
        weighted.addClusters(WeightedCluster.ClusterWeight.newBuilder().setName(d.cluster()).setWeight(UInt32Value.of(d.weight())));
      }
      action.setWeightedClusters(weighted);
    }
    action.setTimeout(model.timeout().map(t -> Duration.newBuilder().setSeconds(t.getSeconds()).setNanos(t.getNano()).build())
        .orElse(NO_TIMEOUT));
    model.retries().ifPresent(r -> action.setRetryPolicy(RetryPolicy.newBuilder().setRetryOn(r.retryOn())
        .setNumRetries(UInt32Value.of(r.attempts()))));
    return Route.newBuilder().setName(model.name()).setMatch(match).setRoute(action).build();
  }

  static Route defaultRoute(String cluster) {
    return Route.newBuilder().setName("default").setMatch(RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(RouteAction.newBuilder().setCluster(cluster).setTimeout(NO_TIMEOUT)).build();
  }

  /** A virtual host being assembled: the policy's routes, then (when it has a cluster of its own) the default one. */
  private static final class HostBuilder {
    final String name;
    final Set<String> domains;
    final String defaultCluster;
    final List<Route> routes = new ArrayList<>();

    HostBuilder(String name, Set<String> domains, String defaultCluster) {
      this.name = name;
      this.domains = domains;
      this.defaultCluster = defaultCluster;
    }

    VirtualHost build() {
      VirtualHost.Builder host = VirtualHost.newBuilder().setName(name).addAllDomains(domains).addAllRoutes(routes);
      if (defaultCluster != null) {
        host.addRoutes(defaultRoute(defaultCluster));
      }
      return host.build();
    }
  }
}
