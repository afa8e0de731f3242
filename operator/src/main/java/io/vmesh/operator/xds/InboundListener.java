package io.vmesh.operator.xds;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.vmesh.operator.api.Protocol;
import io.vmesh.operator.xds.MeshModel.InboundAccess;
import io.vmesh.operator.xds.MeshModel.InboundPort;
import io.vmesh.operator.xds.MeshModel.ProxyModel;
import io.vmesh.operator.xds.MeshModel.Sources;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * {@code virtualInbound} on 15006: one group of chains per inbound port, matched on the destination port and, where
 * the protocol asks for it, the transport and application protocols the inspectors find; everything else goes to
 * the app unchanged ({@code InboundPassthroughCluster}). Allow rules are enforced here by source address (there is no
 * workload identity yet): each chain of a restricted port exists twice, once for the allowed source blocks and once,
 * less specific, to the black hole.
 */
final class InboundListener {

  static final String VIRTUAL_INBOUND = "virtualInbound";
  static final int INBOUND_PORT = 15006;

  private InboundListener() {
  }

  /** @param ranges the source blocks as CidrRanges (the generator converts each policy's blocks once) */
  static Listener build(ProxyModel proxy, Function<Sources, List<CidrRange>> ranges) {
    List<FilterChain> chains = new ArrayList<>();
    for (InboundPort port : proxy.inbound()) {
      for (FilterChain chain : chains(port)) {
        chains.addAll(guarded(chain, proxy.access().forPort(port.port()), proxy.access(), ranges));
      }
    }
    chains.addAll(guarded(NetworkFilters.chain("virtualInbound-catchall-tcp", FilterChainMatch.getDefaultInstance(),
        NetworkFilters.tcpProxy(ClusterResources.INBOUND_PASSTHROUGH)), proxy.access().otherPorts(), proxy.access(), ranges));
    Listener.Builder listener = Listener.newBuilder().setName(VIRTUAL_INBOUND)
        .setAddress(OutboundListeners.address("0.0.0.0", INBOUND_PORT))
        .setTrafficDirection(TrafficDirection.INBOUND)
        .addListenerFilters(NetworkFilters.originalDst())
        .addAllFilterChains(chains);
    boolean transport = chains.stream().anyMatch(c -> !c.getFilterChainMatch().getTransportProtocol().isEmpty());
    boolean application = chains.stream().anyMatch(c -> c.getFilterChainMatch().getApplicationProtocolsCount() > 0);
    if (transport) {
      listener.addListenerFilters(NetworkFilters.tlsInspector());
    }
    if (application) {
      listener.addListenerFilters(NetworkFilters.httpInspector());
    }
    if (transport || application) {
      listener.setListenerFiltersTimeout(OutboundListeners.SNIFF_TIMEOUT).setContinueOnListenerFiltersTimeout(true);
    }
    return listener.build();
  }

  /** The chains of one port: by its protocol, or HTTP-if-it-looks-like-it-else-TCP when sniffed. */
  private static List<FilterChain> chains(InboundPort port) {
    int number = port.port();
    if (!port.served()) {
      return List.of(NetworkFilters.chain("inbound|" + number + "|passthrough", NetworkFilters.destinationPort(number).build(),
          NetworkFilters.tcpProxy(ClusterResources.INBOUND_PASSTHROUGH)));
    }
    String cluster = SnapshotGenerator.inboundCluster(number);
    Filter tcp = NetworkFilters.tcpProxy(cluster);
    if (port.protocol().isEmpty()) {
      return List.of(
          NetworkFilters.chain("inbound|" + number + "|http", NetworkFilters.destinationPort(number)
              .addAllApplicationProtocols(NetworkFilters.SNIFFED_HTTP).build(), http(number)),
          NetworkFilters.chain("inbound|" + number + "|tcp", NetworkFilters.destinationPort(number).build(), tcp));
    }
    Protocol protocol = port.protocol().get();
    if (PortProtocols.isHttp(protocol)) {
      // plaintext only: a TLS client of a port declared HTTP is not fed to the HTTP codec
      return List.of(NetworkFilters.chain("inbound|" + number + "|http",
          NetworkFilters.destinationPort(number).setTransportProtocol(NetworkFilters.RAW_BUFFER).build(), http(number)));
    }
    if (protocol == Protocol.TLS) {
      return List.of(NetworkFilters.chain("inbound|" + number + "|tls",
          NetworkFilters.destinationPort(number).setTransportProtocol(NetworkFilters.TLS).build(), tcp));
    }
    return List.of(NetworkFilters.chain("inbound|" + number + "|tcp", NetworkFilters.destinationPort(number).build(), tcp));
  }

  private static Filter http(int port) {
    String cluster = SnapshotGenerator.inboundCluster(port);
    RouteConfiguration routes = RouteConfiguration.newBuilder().setName(cluster)
        .addVirtualHosts(VirtualHost.newBuilder().setName("inbound|http|" + port).addDomains("*")
            .addRoutes(RouteTables.defaultRoute(cluster)))
        .build();
    return NetworkFilters.httpInline("inbound_0.0.0.0_" + port, routes);
  }

  /** The chain as is when anyone may connect; else the chain for the allowed blocks plus a refusing twin for the rest. */
  private static List<FilterChain> guarded(FilterChain chain, Sources allowed, InboundAccess access,
      Function<Sources, List<CidrRange>> ranges) {
    if (!access.restricted() || allowed.anyone()) {
      return List.of(chain);
    }
    FilterChain denied = NetworkFilters.chain(chain.getName() + "|denied", chain.getFilterChainMatch(),
        NetworkFilters.tcpProxy(ClusterResources.BLACK_HOLE));
    if (allowed.blocks().isEmpty()) {
      return List.of(denied);
    }
    FilterChainMatch.Builder match = chain.getFilterChainMatch().toBuilder().addAllSourcePrefixRanges(ranges.apply(allowed));
    return List.of(chain.toBuilder().setFilterChainMatch(match).build(), denied);
  }
}
