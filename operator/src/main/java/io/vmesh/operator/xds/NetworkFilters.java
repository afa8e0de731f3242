package io.vmesh.operator.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.vmesh.operator.xds.MeshModel.Cidr;
import java.util.List;

/** The filters, listener filters and chain pieces the generated listeners are made of, named as Istio names them. */
final class NetworkFilters {

  static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";
  static final String HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager";
  /** What the http_inspector reports for plaintext HTTP; chains that take HTTP on a sniffed port match on these. */
  static final List<String> SNIFFED_HTTP = List.of("http/1.0", "http/1.1", "h2c");
  static final String RAW_BUFFER = "raw_buffer";
  static final String TLS = "tls";

  private NetworkFilters() {
  }

  static Filter tcpProxy(String cluster) {
    return Filter.newBuilder().setName(TCP_PROXY)
        .setTypedConfig(Any.pack(TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build()))
        .build();
  }

  /** An HTTP connection manager whose routes come by RDS over the ADS stream, as Istio's outbound listeners do. */
  static Filter httpByRds(String statPrefix, String routeName) {
    return httpConnectionManager(HttpConnectionManager.newBuilder().setStatPrefix(statPrefix)
        .setRds(Rds.newBuilder().setConfigSource(ads()).setRouteConfigName(routeName)));
  }

  /** An HTTP connection manager with its routes inline, as Istio's inbound chains have them. */
  static Filter httpInline(String statPrefix, RouteConfiguration routes) {
    return httpConnectionManager(HttpConnectionManager.newBuilder().setStatPrefix(statPrefix).setRouteConfig(routes));
  }

  /** Istio's settings on every connection manager it generates: AUTO codec, WebSocket upgrades allowed, the router. */
  private static Filter httpConnectionManager(HttpConnectionManager.Builder hcm) {
    hcm.setCodecType(HttpConnectionManager.CodecType.AUTO)
        .addUpgradeConfigs(HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("websocket"))
        .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(Router.getDefaultInstance())));
    return Filter.newBuilder().setName(HTTP_CONNECTION_MANAGER).setTypedConfig(Any.pack(hcm.build())).build();
  }

  /** Resources of another type on the same ADS stream. */
  static ConfigSource ads() {
    return ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3).build();
  }

  static FilterChain chain(String name, FilterChainMatch match, Filter filter) {
    FilterChain.Builder chain = FilterChain.newBuilder().setName(name).addFilters(filter);
    if (!match.equals(FilterChainMatch.getDefaultInstance())) {
      chain.setFilterChainMatch(match);
    }
    return chain.build();
  }

  static FilterChainMatch.Builder destinationPort(int port) {
    return FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(port));
  }

  static CidrRange cidr(Cidr cidr) {
    return CidrRange.newBuilder().setAddressPrefix(cidr.address()).setPrefixLen(UInt32Value.of(cidr.prefixLength())).build();
  }

  static ListenerFilter originalDst() {
    return listenerFilter("envoy.filters.listener.original_dst", OriginalDst.getDefaultInstance());
  }

  static ListenerFilter tlsInspector() {
    return listenerFilter("envoy.filters.listener.tls_inspector", TlsInspector.getDefaultInstance());
  }

  static ListenerFilter httpInspector() {
    return listenerFilter("envoy.filters.listener.http_inspector", HttpInspector.getDefaultInstance());
  }

  private static ListenerFilter listenerFilter(String name, Message config) {
    return ListenerFilter.newBuilder().setName(name).setTypedConfig(Any.pack(config)).build();
  }

  /** True when some chain matches on what the inspectors find, so the listener needs them. */
  static boolean sniffs(List<FilterChain> chains) {
    return chains.stream().map(FilterChain::getFilterChainMatch)
        .anyMatch(m -> !m.getTransportProtocol().isEmpty() || m.getApplicationProtocolsCount() > 0);
  }
}
