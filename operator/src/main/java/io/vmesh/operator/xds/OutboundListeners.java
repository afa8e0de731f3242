package io.vmesh.operator.xds;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.listener.v3.AdditionalAddress;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.vmesh.operator.api.OutboundTrafficPolicy;
import io.vmesh.operator.api.Protocol;
import io.vmesh.operator.xds.MeshModel.EndpointAddress;
import io.vmesh.operator.xds.MeshModel.ServiceModel;
import io.vmesh.operator.xds.MeshModel.ServicePortModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The outbound side, Istio's layout: {@code virtualOutbound} on 15001 hands each captured connection to the
 * {@code bind_to_port: false} listener of its original destination — {@code <clusterIP>_<port>} for a TCP Service
 * port, {@code 0.0.0.0_<port>} for HTTP — and forwards or refuses the rest by the outbound policy. Dual stack as
 * Istio builds it: a dual-stack Service's TCP listener carries its other VIP in {@code additional_addresses}, and an
 * HTTP port with IPv6 destinations gets {@code [::]:<port>} there; single-stack output is unchanged.
 */
final class OutboundListeners {

  static final String VIRTUAL_OUTBOUND = "virtualOutbound";
  static final int OUTBOUND_PORT = 15001;
  /** How long a sniffed port waits for a client's first bytes before treating the connection as TCP. */
  static final Duration SNIFF_TIMEOUT = Duration.newBuilder().setSeconds(1).build();

  private OutboundListeners() {
  }

  static Listener virtualOutbound(OutboundTrafficPolicy policy) {
    return Listener.newBuilder().setName(VIRTUAL_OUTBOUND)
        .setAddress(address("0.0.0.0", OUTBOUND_PORT))
        .setUseOriginalDst(com.google.protobuf.BoolValue.of(true))
        .setTrafficDirection(TrafficDirection.OUTBOUND)
        // nobody dials 15001 on purpose: such a connection would loop through the proxy
        .addFilterChains(NetworkFilters.chain("virtualOutbound-blackhole", NetworkFilters.destinationPort(OUTBOUND_PORT).build(),
            NetworkFilters.tcpProxy(ClusterResources.BLACK_HOLE)))
        .addFilterChains(NetworkFilters.chain("virtualOutbound-catchall-tcp", FilterChainMatch.getDefaultInstance(), unknown(policy)))
        .build();
  }

  /** Where a connection to a destination the mesh does not know goes. */
  static Filter unknown(OutboundTrafficPolicy policy) {
    return NetworkFilters.tcpProxy(policy == OutboundTrafficPolicy.ALLOW_ANY ? ClusterResources.PASSTHROUGH : ClusterResources.BLACK_HOLE);
  }

  /**
   * Per-Service listeners for every Service port: TCP and TLS ports get one per address (the cluster IP, or each
   * endpoint of a headless Service); HTTP and sniffed ports share {@code 0.0.0.0_<port>}.
   */
  static List<Listener> perService(List<ServiceModel> services, OutboundTrafficPolicy policy) {
    Map<String, Listener> byAddress = new LinkedHashMap<>();
    Map<Integer, List<ServiceModel>> httpPorts = new TreeMap<>();
    for (ServiceModel service : services) {
      for (ServicePortModel port : service.ports()) {
        Optional<Protocol> protocol = port.protocol();
        String cluster = SnapshotGenerator.outboundCluster(port.port(), service.host());
        if (protocol.isPresent() && !PortProtocols.isHttp(protocol.get())) {
          if (service.clusterIps().size() > 1) {
            // dual stack, as Istio: one listener named by the primary VIP, the other family's VIP an additional address
            String primary = service.clusterIps().get(0);
            Listener.Builder listener = tcpListener(primary + "_" + port.port(), primary, port.port(), cluster);
            service.clusterIps().subList(1, service.clusterIps().size()).forEach(ip -> listener.addAdditionalAddresses(
                AdditionalAddress.newBuilder().setAddress(address(ip, port.port()))));
            byAddress.putIfAbsent(listener.getName(), listener.build());
            continue;
          }
          for (EndpointAddress address : addresses(service, port)) {
            String name = address.ip() + "_" + address.port();
            // two headless Services over the same pod: the first one (by namespace and name) keeps the address
            byAddress.putIfAbsent(name, tcpListener(name, address.ip(), address.port(), cluster).build());
          }
        } else {
          httpPorts.computeIfAbsent(port.port(), p -> new ArrayList<>()).add(service);
        }
      }
    }
    List<Listener> listeners = new ArrayList<>(byAddress.values());
    httpPorts.forEach((port, onPort) -> listeners.add(httpListener(port, onPort, policy)));
    return listeners;
  }

  private static Listener.Builder tcpListener(String name, String ip, int port, String cluster) {
    return Listener.newBuilder().setName(name).setAddress(address(ip, port))
        .setBindToPort(com.google.protobuf.BoolValue.of(false))
        .setTrafficDirection(TrafficDirection.OUTBOUND)
        .addFilterChains(NetworkFilters.chain(cluster, FilterChainMatch.getDefaultInstance(), NetworkFilters.tcpProxy(cluster)));
  }

  /**
   * {@code 0.0.0.0_<port>}: HTTP to the route configuration named by the port. Where a Service's port is sniffed,
   * connections to its addresses are HTTP when they look like it and go to its cluster as TCP otherwise.
   */
  private static Listener httpListener(int port, List<ServiceModel> services, OutboundTrafficPolicy policy) {
    String name = "0.0.0.0_" + port;
    Filter http = NetworkFilters.httpByRds("outbound_" + name, Integer.toString(port));
    List<FilterChain> chains = new ArrayList<>();
    boolean declaredHttp = false;
    for (ServiceModel service : services) {
      ServicePortModel servicePort = service.port(port).orElseThrow();
      if (servicePort.protocol().isPresent()) {
        declaredHttp = true;
        continue;
      }
      String cluster = SnapshotGenerator.outboundCluster(port, service.host());
      for (EndpointAddress address : sniffedAddresses(service, servicePort)) {
        FilterChainMatch.Builder to = FilterChainMatch.newBuilder().addPrefixRanges(NetworkFilters.cidr(MeshModel.Cidr.host(address.ip())));
        chains.add(NetworkFilters.chain(cluster + "|http", to.clone().addAllApplicationProtocols(NetworkFilters.SNIFFED_HTTP).build(), http));
        chains.add(NetworkFilters.chain(cluster + "|tcp", to.build(), NetworkFilters.tcpProxy(cluster)));
      }
    }
    if (declaredHttp) {
      chains.add(NetworkFilters.chain(name, FilterChainMatch.getDefaultInstance(), http));
    } else {
      // only sniffed Services here: other destinations on this port are HTTP by sniffing, else unknown TCP
      chains.add(NetworkFilters.chain(name + "|http", FilterChainMatch.newBuilder().addAllApplicationProtocols(NetworkFilters.SNIFFED_HTTP).build(), http));
      chains.add(NetworkFilters.chain(name + "|tcp", FilterChainMatch.getDefaultInstance(), unknown(policy)));
    }
    Listener.Builder listener = Listener.newBuilder().setName(name).setAddress(address("0.0.0.0", port))
        .setBindToPort(com.google.protobuf.BoolValue.of(false))
        .setTrafficDirection(TrafficDirection.OUTBOUND)
        .addAllFilterChains(dedupe(chains));
    boolean ipv6 = services.stream().anyMatch(s -> s.clusterIps().stream().anyMatch(ip -> ip.contains(":"))
        || (s.headless() && s.port(port).orElseThrow().endpoints().stream().anyMatch(e -> e.ip().contains(":"))));
    if (ipv6) {
      // IPv6 destinations on this port: Istio's dual-stack wildcard pair 0.0.0.0_<port> + [::]:<port>, as one listener
      listener.addAdditionalAddresses(AdditionalAddress.newBuilder().setAddress(address("::", port)));
    }
    if (NetworkFilters.sniffs(chains)) {
      listener.addListenerFilters(NetworkFilters.httpInspector())
          .setListenerFiltersTimeout(SNIFF_TIMEOUT)
          .setContinueOnListenerFiltersTimeout(true);
    }
    return listener.build();
  }

  /** Two headless Services over the same pod would give two chains with one match, which Envoy refuses: the first stays. */
  private static List<FilterChain> dedupe(List<FilterChain> chains) {
    Map<FilterChainMatch, FilterChain> byMatch = new LinkedHashMap<>();
    chains.forEach(c -> byMatch.putIfAbsent(c.getFilterChainMatch(), c));
    return List.copyOf(byMatch.values());
  }

  /** Where a sniffed port's chains match: every cluster IP (both families of a dual-stack Service), or each endpoint. */
  private static List<EndpointAddress> sniffedAddresses(ServiceModel service, ServicePortModel port) {
    return service.headless() ? port.endpoints() : service.clusterIps().stream().map(ip -> new EndpointAddress(ip, port.port())).toList();
  }

  /** The addresses clients dial: the cluster IP and Service port, or, headless, each ready endpoint. */
  private static List<EndpointAddress> addresses(ServiceModel service, ServicePortModel port) {
    return service.clusterIp().map(ip -> List.of(new EndpointAddress(ip, port.port()))).orElse(port.endpoints());
  }

  static Address address(String ip, int port) {
    return Address.newBuilder().setSocketAddress(ClusterResources.socket(ip, port)).build();
  }
}
