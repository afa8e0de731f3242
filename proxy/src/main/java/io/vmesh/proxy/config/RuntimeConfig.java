package io.vmesh.proxy.config;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.admin.v3.BootstrapConfigDump;
import io.envoyproxy.envoy.admin.v3.ClustersConfigDump;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.EndpointsConfigDump;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.admin.v3.RoutesConfigDump;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.http.RouteTable;
import io.vmesh.proxy.listener.ListenerConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Everything the proxy runs, built from one valid {@code Bootstrap} and never changed afterwards: a new
 * configuration is a new instance, swapped in whole, so a connection sees one configuration from accept
 * to close. Built by {@link RuntimeConfigBuilder}.
 */
public final class RuntimeConfig {

  private final Bootstrap bootstrap;
  private final Map<String, ListenerConfig> listeners;
  private final Map<String, ClusterConfig> clusters;
  private final Map<InetSocketAddress, ListenerConfig> handoffExact;
  private final Map<String, ListenerConfig> handoffWildcard;
  private final InetSocketAddress admin;
  private final Instant loadedAt;
  private final XdsResources xds;
  private final Map<String, XdsResources.Versioned<Listener>> activeListeners;
  private final Set<String> warmingListeners;
  private final Set<String> warmingClusters;
  private final AdsConfig ads;
  private final Map<String, RouteTable> routeTables;

  RuntimeConfig(Bootstrap bootstrap, Map<String, ListenerConfig> listeners, Map<String, ClusterConfig> clusters,
                Map<InetSocketAddress, ListenerConfig> handoffExact, Map<String, ListenerConfig> handoffWildcard,
                InetSocketAddress admin, Instant loadedAt, XdsResources xds,
                Map<String, XdsResources.Versioned<Listener>> activeListeners, Set<String> warmingListeners,
                Set<String> warmingClusters, AdsConfig ads, Map<String, RouteTable> routeTables) {
    this.bootstrap = bootstrap;
    this.listeners = listeners;
    this.clusters = clusters;
    this.handoffExact = handoffExact;
    this.handoffWildcard = handoffWildcard;
    this.admin = admin;
    this.loadedAt = loadedAt;
    this.xds = xds;
    this.activeListeners = activeListeners;
    this.warmingListeners = warmingListeners;
    this.warmingClusters = warmingClusters;
    this.ads = ads;
    this.routeTables = routeTables;
  }

  /**
   * The route table received over RDS under {@code name}, checked against this configuration's clusters;
   * empty when this configuration has none of that name.
   */
  public Optional<RouteTable> routeTable(String name) {
    return Optional.ofNullable(routeTables.get(name));
  }

  /** The resources received over xDS that this configuration was built from. */
  public XdsResources xds() {
    return xds;
  }

  /** The xDS server to get dynamic resources from, when the bootstrap has {@code dynamic_resources}. */
  public Optional<AdsConfig> ads() {
    return Optional.ofNullable(ads);
  }

  /** The LDS listeners that run, each in the version that runs (an older one while the newest warms). */
  public Map<String, XdsResources.Versioned<Listener>> activeListeners() {
    return activeListeners;
  }

  /** LDS listeners whose newest version waits for route configurations from RDS. */
  public Set<String> warmingListeners() {
    return warmingListeners;
  }

  /** EDS clusters whose ClusterLoadAssignment has not arrived (they have no endpoints meanwhile). */
  public Set<String> warmingClusters() {
    return warmingClusters;
  }

  /**
   * True when nothing waits: without ADS always; with ADS once CDS and LDS have been received and no
   * cluster waits for its endpoints and no listener for its routes (Istio's readiness: first config applied).
   */
  public boolean complete() {
    return ads == null || (xds.versions().containsKey(XdsResources.Type.CLUSTER) && xds.versions().containsKey(XdsResources.Type.LISTENER)
        && warmingListeners.isEmpty() && warmingClusters.isEmpty());
  }

  public Bootstrap bootstrap() {
    return bootstrap;
  }

  /** Listeners by name, in configuration order. */
  public Map<String, ListenerConfig> listeners() {
    return listeners;
  }

  /** Clusters by name, in configuration order. */
  public Map<String, ClusterConfig> clusters() {
    return clusters;
  }

  public List<ListenerConfig> boundListeners() {
    return listeners.values().stream().filter(ListenerConfig::bindToPort).toList();
  }

  public Optional<InetSocketAddress> admin() {
    return Optional.ofNullable(admin);
  }

  /**
   * Where a {@code use_original_dst} listener hands a connection: the listener owning the exact ip:port, else the
   * port's wildcard listener of the destination's family ({@code 0.0.0.0:port} or {@code [::]:port}); a listener's
   * {@code additional_addresses} count as its own. Empty: the virtual listener's own chains take it.
   */
  public Optional<ListenerConfig> handoff(InetSocketAddress originalDst) {
    ListenerConfig exact = handoffExact.get(originalDst);
    if (exact != null) {
      return Optional.of(exact);
    }
    return Optional.ofNullable(handoffWildcard.get(wildcardKey(originalDst)));
  }

  static String wildcardKey(InetSocketAddress address) {
    return address.getAddress().getAddress().length + "/" + address.getPort();
  }

  /**
   * True when {@code destination} is one of this proxy's own bound listeners: dialling it would come
   * straight back here (REFERENCE 6.13), so an original-destination connection to it is refused.
   */
  public boolean isOwnListener(InetSocketAddress destination) {
    for (ListenerConfig l : boundListeners()) {
      if (l.address().getPort() != destination.getPort()) {
        continue;
      }
      if (l.address().equals(destination)) {
        return true;
      }
      InetAddress address = destination.getAddress();
      try {
        if (address.isAnyLocalAddress() || address.isLoopbackAddress() || NetworkInterface.getByInetAddress(address) != null) {
          return l.address().getAddress().isAnyLocalAddress() || l.address().getAddress().equals(address);
        }
      } catch (SocketException e) {
        return true;
      }
    }
    return false;
  }

  /**
   * The running configuration in Envoy's {@code /config_dump} shape: the bootstrap, static and dynamic
   * clusters, listeners (active and warming states), route configurations and endpoint assignments,
   * each dynamic resource with the {@code version_info} it came with and when it arrived.
   */
  public String configDump() {
    Timestamp updated = timestamp(loadedAt);
    ListenersConfigDump.Builder ls = ListenersConfigDump.newBuilder();
    bootstrap.getStaticResources().getListenersList().forEach(l ->
        ls.addStaticListeners(ListenersConfigDump.StaticListener.newBuilder().setListener(Any.pack(l)).setLastUpdated(updated)));
    ClustersConfigDump.Builder cs = ClustersConfigDump.newBuilder();
    bootstrap.getStaticResources().getClustersList().forEach(c ->
        cs.addStaticClusters(ClustersConfigDump.StaticCluster.newBuilder().setCluster(Any.pack(c)).setLastUpdated(updated)));
    RoutesConfigDump.Builder rs = RoutesConfigDump.newBuilder();
    EndpointsConfigDump.Builder es = EndpointsConfigDump.newBuilder();
    if (ads != null) {
      Optional.ofNullable(xds.versions().get(XdsResources.Type.CLUSTER)).ifPresent(cs::setVersionInfo);
      xds.clusters().forEach((name, c) -> {
        var dynamic = ClustersConfigDump.DynamicCluster.newBuilder().setVersionInfo(c.version()).setCluster(Any.pack(c.resource()))
            .setLastUpdated(timestamp(c.lastUpdated()));
        if (warmingClusters.contains(name)) {
          cs.addDynamicWarmingClusters(dynamic);
        } else {
          cs.addDynamicActiveClusters(dynamic);
        }
      });
      Optional.ofNullable(xds.versions().get(XdsResources.Type.LISTENER)).ifPresent(ls::setVersionInfo);
      xds.listeners().forEach((name, l) -> {
        var dynamic = ListenersConfigDump.DynamicListener.newBuilder().setName(name);
        XdsResources.Versioned<Listener> active = activeListeners.get(name);
        if (active != null) {
          dynamic.setActiveState(state(active));
        }
        if (warmingListeners.contains(name)) {
          dynamic.setWarmingState(state(l));
        }
        ls.addDynamicListeners(dynamic);
      });
      xds.routes().values().forEach(r -> rs.addDynamicRouteConfigs(RoutesConfigDump.DynamicRouteConfig.newBuilder()
          .setVersionInfo(r.version()).setRouteConfig(Any.pack(r.resource())).setLastUpdated(timestamp(r.lastUpdated()))));
      xds.endpoints().values().forEach(e -> es.addDynamicEndpointConfigs(EndpointsConfigDump.DynamicEndpointConfig.newBuilder()
          .setVersionInfo(e.version()).setEndpointConfig(Any.pack(e.resource())).setLastUpdated(timestamp(e.lastUpdated()))));
    }
    ConfigDump.Builder dump = ConfigDump.newBuilder()
        .addConfigs(Any.pack(BootstrapConfigDump.newBuilder().setBootstrap(bootstrap).setLastUpdated(updated).build()))
        .addConfigs(Any.pack(cs.build()));
    if (ads != null) {
      dump.addConfigs(Any.pack(es.build()));
    }
    dump.addConfigs(Any.pack(ls.build()));
    if (ads != null) {
      dump.addConfigs(Any.pack(rs.build()));
    }
    try {
      // snake_case field names, as Envoy's admin prints them
      return JsonFormat.printer().usingTypeRegistry(SupportedFields.typeRegistry()).preservingProtoFieldNames()
          .print(dump.build()) + "\n";
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("every type in a valid config is registered: " + e.getMessage(), e);
    }
  }

  private static ListenersConfigDump.DynamicListenerState state(XdsResources.Versioned<Listener> l) {
    return ListenersConfigDump.DynamicListenerState.newBuilder().setVersionInfo(l.version()).setListener(Any.pack(l.resource()))
        .setLastUpdated(timestamp(l.lastUpdated())).build();
  }

  private static Timestamp timestamp(Instant at) {
    return Timestamp.newBuilder().setSeconds(at.getEpochSecond()).setNanos(at.getNano()).build();
  }
}
