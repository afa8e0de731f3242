package io.vmesh.proxy.config;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.admin.v3.BootstrapConfigDump;
import io.envoyproxy.envoy.admin.v3.ClustersConfigDump;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.listener.ListenerConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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

  RuntimeConfig(Bootstrap bootstrap, Map<String, ListenerConfig> listeners, Map<String, ClusterConfig> clusters,
                Map<InetSocketAddress, ListenerConfig> handoffExact, Map<String, ListenerConfig> handoffWildcard,
                InetSocketAddress admin, Instant loadedAt) {
    this.bootstrap = bootstrap;
    this.listeners = listeners;
    this.clusters = clusters;
    this.handoffExact = handoffExact;
    this.handoffWildcard = handoffWildcard;
    this.admin = admin;
    this.loadedAt = loadedAt;
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

  /** Where a {@code use_original_dst} listener hands a connection: the exact ip:port owner, else 0.0.0.0:port. */
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

  /** The running configuration in Envoy's {@code /config_dump} shape (static resources only). */
  public String configDump() {
    Timestamp updated = Timestamp.newBuilder().setSeconds(loadedAt.getEpochSecond()).setNanos(loadedAt.getNano()).build();
    ListenersConfigDump.Builder ls = ListenersConfigDump.newBuilder();
    bootstrap.getStaticResources().getListenersList().forEach(l ->
        ls.addStaticListeners(ListenersConfigDump.StaticListener.newBuilder().setListener(Any.pack(l)).setLastUpdated(updated)));
    ClustersConfigDump.Builder cs = ClustersConfigDump.newBuilder();
    bootstrap.getStaticResources().getClustersList().forEach(c ->
        cs.addStaticClusters(ClustersConfigDump.StaticCluster.newBuilder().setCluster(Any.pack(c)).setLastUpdated(updated)));
    ConfigDump dump = ConfigDump.newBuilder()
        .addConfigs(Any.pack(BootstrapConfigDump.newBuilder().setBootstrap(bootstrap).setLastUpdated(updated).build()))
        .addConfigs(Any.pack(ls.build()))
        .addConfigs(Any.pack(cs.build()))
        .build();
    try {
      return JsonFormat.printer().usingTypeRegistry(SupportedFields.typeRegistry()).print(dump) + "\n";
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("every type in a valid config is registered: " + e.getMessage(), e);
    }
  }
}
