package io.vmesh.proxy.config;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;

/** xDS resources as an operator would send them, on 127.0.0.1, for the tests. */
public final class XdsFixtures {

  public static final ConfigSource ADS = ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

  private XdsFixtures() {
  }

  /**
   * A bootstrap's {@code dynamic_resources} (ADS, LDS and CDS by ADS) and its {@code xds-grpc} cluster
   * at {@code host:port} ({@code type} STATIC for an IP, STRICT_DNS for a name), last in the YAML so that
   * more cluster fields (indented 4) can follow.
   */
  public static String adsBootstrap(String type, String host, int port) {
    return """
        dynamic_resources:
          ads_config: { api_type: GRPC, grpc_services: [ { envoy_grpc: { cluster_name: xds-grpc } } ] }
          cds_config: { ads: {} }
          lds_config: { ads: {} }
        static_resources:
          clusters:
          - name: xds-grpc
            type: %s
            load_assignment:
              endpoints:
              - lb_endpoints: [ { endpoint: { address: { socket_address: { address: %s, port_value: %d } } } } ]
        """.formatted(type, host, port);
  }

  /** An EDS cluster by ADS; {@code serviceName} empty: its assignment has the cluster's name. */
  public static Cluster eds(String name, String serviceName) {
    return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS).setServiceName(serviceName)).build();
  }

  public static ClusterLoadAssignment cla(String name, int... ports) {
    LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
    for (int port : ports) {
      locality.addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(Endpoint.newBuilder().setAddress(address(port))));
    }
    return ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(locality).build();
  }

  /** A listener whose one chain is an HTTP connection manager with its routes by RDS. */
  public static Listener http(String name, int port, String routes) {
    return Listener.newBuilder().setName(name).setAddress(address(port))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName("hcm").setTypedConfig(
            Any.pack(HttpConnectionManager.newBuilder().setStatPrefix(name)
                .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(routes)).build())))).build();
  }

  public static Listener tcp(String name, int port, String cluster) {
    return Listener.newBuilder().setName(name).setAddress(address(port))
        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName("tcp").setTypedConfig(
            Any.pack(TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build())))).build();
  }

  /** Every host, every path, to {@code cluster}. */
  public static RouteConfiguration routes(String name, String cluster) {
    return RouteConfiguration.newBuilder().setName(name).addVirtualHosts(VirtualHost.newBuilder().setName("all").addDomains("*")
        .addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
            .setRoute(RouteAction.newBuilder().setCluster(cluster)))).build();
  }

  public static Address address(int port) {
    return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(port)).build();
  }
}
