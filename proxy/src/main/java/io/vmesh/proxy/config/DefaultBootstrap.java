package io.vmesh.proxy.config;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.bootstrap.v3.Admin;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.BindConfig;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;

/**
 * The built-in bootstrap ({@code run} without {@code --bootstrap}), written as protos in code: reading
 * it from YAML cost every sidecar Jackson, SnakeYAML, protobuf's JSON parser and the reflective
 * accessors of most of Envoy's config messages (~2 000 classes) before it was ready. {@code Any}s are
 * packed by {@link SupportedFields#pack}, which needs no descriptor. {@link #YAML} is
 * the same configuration as a file, for people; a test keeps the two equal.
 */
public final class DefaultBootstrap {

  /** The built-in bootstrap as YAML, in the jar; what {@link #bootstrap()} returns, parsed. */
  public static final String YAML = "/bootstrap/default.yaml";

  private static final Bootstrap BOOTSTRAP = build();

  private DefaultBootstrap() {
  }

  /**
   * virtualOutbound (0.0.0.0:15001, original destination) and virtualInbound (0.0.0.0:15006) passing
   * everything through to PassthroughCluster and InboundPassthroughCluster (from 127.0.0.6), admin on
   * 127.0.0.1:15000.
   */
  public static Bootstrap bootstrap() {
    return BOOTSTRAP;
  }

  private static Bootstrap build() {
    Listener outbound = Listener.newBuilder()
        .setName("virtualOutbound")
        .setAddress(address("0.0.0.0", 15001))
        .setUseOriginalDst(com.google.protobuf.BoolValue.newBuilder().setValue(true))
        .setTrafficDirection(TrafficDirection.OUTBOUND)
        .addFilterChains(passthrough("virtualOutbound-catchall-tcp", "PassthroughCluster"))
        .build();
    Listener inbound = Listener.newBuilder()
        .setName("virtualInbound")
        .setAddress(address("0.0.0.0", 15006))
        .setTrafficDirection(TrafficDirection.INBOUND)
        .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
            .setTypedConfig(SupportedFields.pack(OriginalDst.getDefaultInstance())))
        .addFilterChains(passthrough("virtualInbound-catchall-tcp", "InboundPassthroughCluster"))
        .build();
    return Bootstrap.newBuilder()
        .setNode(Node.newBuilder().setId("sidecar~vmesh-proxy").setCluster("vmesh"))
        .setAdmin(Admin.newBuilder().setAddress(address("127.0.0.1", 15000)))
        .setStaticResources(Bootstrap.StaticResources.newBuilder()
            .addListeners(outbound)
            .addListeners(inbound)
            .addClusters(originalDst("PassthroughCluster"))
            .addClusters(originalDst("InboundPassthroughCluster").setUpstreamBindConfig(
                BindConfig.newBuilder().setSourceAddress(SocketAddress.newBuilder().setAddress("127.0.0.6").setPortValue(0)))))
        .build();
  }

  private static FilterChain passthrough(String name, String cluster) {
    TcpProxy tcp = TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build();
    return FilterChain.newBuilder().setName(name)
        .addFilters(Filter.newBuilder().setName("envoy.filters.network.tcp_proxy")
            .setTypedConfig(SupportedFields.pack(tcp)))
        .build();
  }

  private static Cluster.Builder originalDst(String name) {
    return Cluster.newBuilder().setName(name)
        .setType(Cluster.DiscoveryType.ORIGINAL_DST)
        .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
        .setConnectTimeout(Duration.newBuilder().setSeconds(10));
  }

  private static Address address(String ip, int port) {
    return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port)).build();
  }
}
