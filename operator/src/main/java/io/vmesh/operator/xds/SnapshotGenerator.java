package io.vmesh.operator.xds;

import io.vmesh.operator.api.Protocol;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.vmesh.operator.api.OutboundTrafficPolicy;
import io.vmesh.operator.xds.MeshModel.InboundPort;
import io.vmesh.operator.xds.MeshModel.ProxyModel;
import io.vmesh.operator.xds.MeshModel.ServiceModel;
import io.vmesh.operator.xds.MeshModel.ServicePortModel;
import io.vmesh.operator.xds.MeshModel.Sources;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Mesh model → each proxy's Envoy resources, the way istiod lays them out (docs/xds.md, "What each proxy gets").
 * Pure: the same model gives equal snapshots. What all proxies share (outbound clusters, endpoints, per-Service
 * listeners) is built once per model; route tables once per namespace and MeshPolicy.
 */
public final class SnapshotGenerator {

  private final MeshModel model;
  private final List<Cluster> outboundClusters = new ArrayList<>();
  private final List<ClusterLoadAssignment> endpoints = new ArrayList<>();
  /** Service ports that go through HTTP routes (declared HTTP or sniffed), by port. */
  private final Map<Integer, List<ServiceModel>> httpServices = new TreeMap<>();
  private final Map<OutboundTrafficPolicy, List<Listener>> outboundListeners = new EnumMap<>(OutboundTrafficPolicy.class);
  private final Map<String, List<RouteConfiguration>> routeTables = new HashMap<>();
  /** The model shares one Sources per MeshPolicy among the pods it governs: converted once. */
  private final Map<Sources, List<CidrRange>> sourceRanges = new IdentityHashMap<>();

  public SnapshotGenerator(MeshModel model) {
    this.model = model;
    for (ServiceModel service : model.services()) {
      for (ServicePortModel port : service.ports()) {
        String name = outboundCluster(port.port(), service.host());
        Cluster cluster = service.headless() ? ClusterResources.originalDestination(name) : ClusterResources.eds(name);
        outboundClusters.add(port.protocol().map(SnapshotGenerator::http2).orElse(false) ? ClusterResources.http2(cluster) : cluster);
        if (!service.headless()) {
          endpoints.add(ClusterResources.loadAssignment(name, port.endpoints()));
        }
        if (port.protocol().map(PortProtocols::isHttp).orElse(true)) {
          httpServices.computeIfAbsent(port.port(), p -> new ArrayList<>()).add(service);
        }
      }
    }
  }

  private static boolean http2(Protocol protocol) {
    return protocol == Protocol.HTTP2 || protocol == Protocol.GRPC;
  }

  /** Every proxy of the model. */
  public static Map<ProxyId, ProxySnapshot> generate(MeshModel model) {
    SnapshotGenerator generator = new SnapshotGenerator(model);
    Map<ProxyId, ProxySnapshot> snapshots = new HashMap<>();
    model.proxies().forEach((id, proxy) -> snapshots.put(id, generator.snapshot(proxy)));
    return snapshots;
  }

  public ProxySnapshot snapshot(ProxyModel proxy) {
    List<Cluster> clusters = new ArrayList<>(outboundClusters);
    clusters.addAll(ClusterResources.fixed());
    for (InboundPort port : proxy.inbound()) {
      if (port.served()) {
        Cluster inbound = ClusterResources.inbound(inboundCluster(port.port()));
        clusters.add(port.protocol().map(SnapshotGenerator::http2).orElse(false) ? ClusterResources.http2(inbound) : inbound);
      }
    }
    clusters.sort(Comparator.comparing(Cluster::getName));
    List<Listener> listeners = new ArrayList<>(outboundListeners.computeIfAbsent(proxy.outboundPolicy(), this::outboundListeners));
    listeners.add(InboundListener.build(proxy, sources -> sourceRanges.computeIfAbsent(sources,
        s -> s.blocks().stream().map(NetworkFilters::cidr).toList())));
    listeners.sort(Comparator.comparing(Listener::getName));
    List<RouteConfiguration> routes = routeTables.computeIfAbsent(
        proxy.id().namespace() + "|" + proxy.policyKey() + "|" + proxy.outboundPolicy(), k -> routeTables(proxy));
    return new ProxySnapshot(clusters, endpoints, listeners, routes);
  }

  private List<Listener> outboundListeners(OutboundTrafficPolicy policy) {
    List<Listener> listeners = new ArrayList<>(OutboundListeners.perService(model.services(), policy));
    listeners.add(OutboundListeners.virtualOutbound(policy));
    return List.copyOf(listeners);
  }

  private List<RouteConfiguration> routeTables(ProxyModel proxy) {
    List<RouteConfiguration> tables = new ArrayList<>();
    httpServices.forEach((port, services) ->
        tables.add(RouteTables.forPort(port, services, proxy.id().namespace(), proxy.routes(), proxy.outboundPolicy())));
    return List.copyOf(tables);
  }

  /** Istio's outbound cluster name: {@code outbound|9080||reviews.shop.svc.cluster.local}. */
  public static String outboundCluster(int port, String host) {
    return "outbound|" + port + "||" + host;
  }

  /** Istio's inbound cluster name: {@code inbound|8080||}. */
  public static String inboundCluster(int port) {
    return "inbound|" + port + "||";
  }
}
