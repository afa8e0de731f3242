package io.vmesh.operator.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.BindConfig;
import io.envoyproxy.envoy.config.core.v3.ExtraSourceAddress;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.vmesh.operator.xds.MeshModel.EndpointAddress;
import java.util.List;

/** Clusters and their load assignments, shaped like Istio's. */
final class ClusterResources {

  static final String PASSTHROUGH = "PassthroughCluster";
  static final String INBOUND_PASSTHROUGH = "InboundPassthroughCluster";
  static final String BLACK_HOLE = "BlackHoleCluster";
  /** The capture rules never take connections from this source again: inbound traffic reaches the app without a loop. */
  static final String INBOUND_SOURCE = "127.0.0.6";
  static final String INBOUND_SOURCE6 = "::6";
  private static final Duration CONNECT_TIMEOUT = Duration.newBuilder().setSeconds(10).build();

  private ClusterResources() {
  }

  /** A Service port whose endpoints come by EDS on the ADS stream. */
  static Cluster eds(String name) {
    return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS)
        .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(NetworkFilters.ads()))
        .setConnectTimeout(CONNECT_TIMEOUT)
        .build();
  }

  /** A headless Service port: the client already picked the endpoint, so dial the address it dialled. */
  static Cluster originalDestination(String name) {
    return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.ORIGINAL_DST)
        .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED).setConnectTimeout(CONNECT_TIMEOUT).build();
  }

  /**
   * To the pod's own port (the connection's original destination), from 127.0.0.6 so it is not captured again; an
   * IPv6 destination from ::6 (an IPv4 source cannot dial it; the capture step puts ::6 on lo).
   */
  static Cluster inbound(String name) {
    return originalDestination(name).toBuilder()
        .setUpstreamBindConfig(BindConfig.newBuilder().setSourceAddress(socket(INBOUND_SOURCE, 0))
            .addExtraSourceAddresses(ExtraSourceAddress.newBuilder().setAddress(socket(INBOUND_SOURCE6, 0))))
        .build();
  }

  /** The extension key under which Envoy (and vmesh-proxy) read a cluster's upstream HTTP protocol. */
  static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  /**
   * The cluster's HTTP requests go upstream as HTTP/2 (h2c): what HTTP2 and gRPC ports need, since gRPC cannot be
   * carried over HTTP/1.1 and HTTP/2 clients expect their streams multiplexed, as Istio configures them.
   */
  static Cluster http2(Cluster cluster) {
    HttpProtocolOptions options = HttpProtocolOptions.newBuilder()
        .setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder().setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
        .build();
    return cluster.toBuilder().putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, Any.pack(options)).build();
  }

  static Cluster blackHole() {
    return Cluster.newBuilder().setName(BLACK_HOLE).setType(Cluster.DiscoveryType.STATIC).setConnectTimeout(CONNECT_TIMEOUT).build();
  }

  /** PassthroughCluster, InboundPassthroughCluster and BlackHoleCluster: every proxy has them. */
  static List<Cluster> fixed() {
    return List.of(blackHole(), inbound(INBOUND_PASSTHROUGH), originalDestination(PASSTHROUGH));
  }

  static ClusterLoadAssignment loadAssignment(String cluster, List<EndpointAddress> endpoints) {
    ClusterLoadAssignment.Builder assignment = ClusterLoadAssignment.newBuilder().setClusterName(cluster);
    if (!endpoints.isEmpty()) {
      LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
      for (EndpointAddress endpoint : endpoints) {
        locality.addLbEndpoints(LbEndpoint.newBuilder()
            .setEndpoint(Endpoint.newBuilder().setAddress(Address.newBuilder().setSocketAddress(socket(endpoint.ip(), endpoint.port())))));
      }
      assignment.addEndpoints(locality);
    }
    return assignment.build();
  }

  static SocketAddress socket(String ip, int port) {
    return SocketAddress.newBuilder().setAddress(ip).setPortValue(port).build();
  }
}
