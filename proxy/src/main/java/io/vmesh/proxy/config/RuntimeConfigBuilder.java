package io.vmesh.proxy.config;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.netty.util.NetUtil;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.cluster.LoadBalancer;
import io.vmesh.proxy.cluster.OutlierDetection;
import io.vmesh.proxy.filter.TcpProxyRoute;
import io.vmesh.proxy.http.HttpConnectionManagerConfig;
import io.vmesh.proxy.http.UpstreamProtocol;
import io.vmesh.proxy.listener.FilterChainConfig;
import io.vmesh.proxy.listener.FilterChainMatcher;
import io.vmesh.proxy.listener.ListenerConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a {@code Bootstrap} into a {@link RuntimeConfig}, or refuses it with every problem found, each
 * naming its field path: fields outside the supported subset, duplicate names or addresses, bad
 * addresses and ports, a tcp_proxy naming an unknown cluster, overlapping filter chain matches.
 */
public final class RuntimeConfigBuilder {

  /** Envoy's default {@code connect_timeout}. */
  static final int DEFAULT_CONNECT_TIMEOUT_MILLIS = 5_000;
  /** Envoy's default {@code listener_filters_timeout}. */
  static final long DEFAULT_LISTENER_FILTERS_TIMEOUT_MILLIS = 15_000;

  private final List<String> problems = new ArrayList<>();

  private RuntimeConfigBuilder() {
  }

  public static RuntimeConfig build(Bootstrap bootstrap, Clock clock) throws ConfigException {
    SupportedFields.check(bootstrap, "");
    return new RuntimeConfigBuilder().run(bootstrap, clock);
  }

  private RuntimeConfig run(Bootstrap bootstrap, Clock clock) throws ConfigException {
    InetSocketAddress admin = null;
    if (bootstrap.hasAdmin()) {
      admin = socketAddress(bootstrap.getAdmin().getAddress(), "admin.address", true);
    }
    Bootstrap.StaticResources resources = bootstrap.getStaticResources();
    Map<String, ClusterConfig> clusters = clusters(resources.getClustersList(), clock);
    Map<String, ListenerConfig> listeners = new LinkedHashMap<>();
    Map<String, String> addressOwners = new HashMap<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < resources.getListenersCount(); i++) {
      String at = "static_resources.listeners[" + i + "]";
      Listener proto = resources.getListeners(i);
      ListenerConfig listener = listener(proto, at, clusters);
      if (proto.getName().isEmpty()) {
        problems.add(ConfigException.at(at + ".name", "a listener needs a name"));
      } else if (!names.add(proto.getName())) {
        problems.add(ConfigException.at(at + ".name", "duplicate listener name '" + proto.getName() + "'"));
      }
      if (listener == null) {
        continue;
      }
      String key = (listener.bindToPort() ? "bound " : "handoff ") + listener.address();
      String owner = addressOwners.putIfAbsent(key, at);
      if (owner != null) {
        problems.add(ConfigException.at(at + ".address", "the same address as " + owner));
      }
      listeners.putIfAbsent(listener.name(), listener);
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    Map<InetSocketAddress, ListenerConfig> exact = new HashMap<>();
    Map<String, ListenerConfig> wildcard = new HashMap<>();
    for (ListenerConfig l : listeners.values()) {
      if (!l.bindToPort()) {
        if (l.address().getAddress().isAnyLocalAddress()) {
          wildcard.put(RuntimeConfig.wildcardKey(l.address()), l);
        } else {
          exact.put(l.address(), l);
        }
      }
    }
    return new RuntimeConfig(bootstrap, Collections.unmodifiableMap(listeners), Collections.unmodifiableMap(clusters),
        Map.copyOf(exact), Map.copyOf(wildcard), admin, clock.instant());
  }

  private Map<String, ClusterConfig> clusters(List<Cluster> protos, Clock clock) {
    Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < protos.size(); i++) {
      String at = "static_resources.clusters[" + i + "]";
      Cluster c = protos.get(i);
      int before = problems.size();
      if (c.getName().isEmpty()) {
        problems.add(ConfigException.at(at + ".name", "a cluster needs a name"));
      } else if (!names.add(c.getName())) {
        problems.add(ConfigException.at(at + ".name", "duplicate cluster name '" + c.getName() + "'"));
      }
      ClusterConfig.Type type = switch (c.getType()) {
        case STATIC -> ClusterConfig.Type.STATIC;
        case ORIGINAL_DST -> ClusterConfig.Type.ORIGINAL_DST;
        default -> {
          problems.add(ConfigException.at(at + ".type", c.getType() + " is not supported (STATIC, ORIGINAL_DST)"));
          yield null;
        }
      };
      LoadBalancer.Policy policy = lbPolicy(c, type, at);
      OutlierDetection outlier = c.hasOutlierDetection() ? ClusterOptionsBuilder.outlierDetection(c.getOutlierDetection(),
          at + ".outlier_detection", problems) : null;
      if (outlier != null && type == ClusterConfig.Type.ORIGINAL_DST) {
        problems.add(ConfigException.at(at + ".outlier_detection", "an ORIGINAL_DST cluster has no endpoints to eject"));
      }
      int timeout = DEFAULT_CONNECT_TIMEOUT_MILLIS;
      if (c.hasConnectTimeout()) {
        Duration d = c.getConnectTimeout();
        long millis = d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
        if (millis < 1 || millis > Integer.MAX_VALUE) {
          problems.add(ConfigException.at(at + ".connect_timeout", "must be at least 1ms, got " + d.getSeconds() + "s " + d.getNanos() + "ns"));
        }
        timeout = (int) Math.max(1, Math.min(Integer.MAX_VALUE, millis));
      }
      List<InetSocketAddress> endpoints = new ArrayList<>();
      if (c.hasLoadAssignment()) {
        if (type == ClusterConfig.Type.ORIGINAL_DST) {
          problems.add(ConfigException.at(at + ".load_assignment", "an ORIGINAL_DST cluster has no endpoints of its own"));
        }
        List<LocalityLbEndpoints> localities = c.getLoadAssignment().getEndpointsList();
        for (int l = 0; l < localities.size(); l++) {
          List<LbEndpoint> lbs = localities.get(l).getLbEndpointsList();
          for (int e = 0; e < lbs.size(); e++) {
            String ep = at + ".load_assignment.endpoints[" + l + "].lb_endpoints[" + e + "].endpoint.address";
            InetSocketAddress a = socketAddress(lbs.get(e).getEndpoint().getAddress(), ep, true);
            if (a != null) {
              endpoints.add(a);
            }
          }
        }
      }
      String source = null;
      if (c.hasUpstreamBindConfig()) {
        String src = at + ".upstream_bind_config.source_address";
        SocketAddress sa = c.getUpstreamBindConfig().getSourceAddress();
        if (sa.getPortValue() != 0) {
          problems.add(ConfigException.at(src + ".port_value", "a fixed source port is not supported (leave it 0)"));
        }
        InetSocketAddress bind = socketAddress(Address.newBuilder().setSocketAddress(sa).build(), src, false);
        source = bind == null ? null : NetUtil.toAddressString(bind.getAddress());
      }
      UpstreamProtocol httpProtocol = HttpProtocolOptionsBuilder.upstream(c, at, problems);
      if (problems.size() == before) {
        clusters.put(c.getName(), new ClusterConfig(c.getName(), type, endpoints, timeout, source, policy, outlier, clock, httpProtocol));
      }
    }
    return clusters;
  }

  private ListenerConfig listener(Listener l, String at, Map<String, ClusterConfig> clusters) {
    int before = problems.size();
    InetSocketAddress address = socketAddress(l.getAddress(), at + ".address", true);
    boolean bind = !l.hasBindToPort() || l.getBindToPort().getValue();
    boolean useOriginalDst = l.getUseOriginalDst().getValue();
    if (useOriginalDst && !bind) {
      problems.add(ConfigException.at(at + ".use_original_dst", "a listener that hands connections off must bind its port"));
    }
    boolean readsOriginalDst = useOriginalDst;
    boolean tlsInspector = false;
    boolean httpInspector = false;
    for (int i = 0; i < l.getListenerFiltersCount(); i++) {
      ListenerFilter f = l.getListenerFilters(i);
      String fat = at + ".listener_filters[" + i + "].typed_config";
      Optional<Message> config = unpack(f.hasTypedConfig() ? f.getTypedConfig() : null, fat);
      if (config.isEmpty()) {
        continue;
      }
      if (config.get() instanceof OriginalDst) {
        readsOriginalDst = true;
      } else if (config.get() instanceof TlsInspector) {
        tlsInspector = true;
      } else if (config.get() instanceof HttpInspector) {
        httpInspector = true;
      } else {
        problems.add(ConfigException.at(fat, config.get().getDescriptorForType().getFullName() + " is not a listener filter"));
      }
    }
    long timeout = l.hasListenerFiltersTimeout()
        ? timeoutMillis(l.getListenerFiltersTimeout(), at + ".listener_filters_timeout", problems)
        : DEFAULT_LISTENER_FILTERS_TIMEOUT_MILLIS;
    if (l.getFilterChainsCount() == 0 && !l.hasDefaultFilterChain()) {
      problems.add(ConfigException.at(at + ".filter_chains", "a listener needs filter_chains or a default_filter_chain"));
    }
    List<FilterChainConfig> chains = new ArrayList<>();
    List<FilterChainMatch> matches = new ArrayList<>();
    for (int i = 0; i < l.getFilterChainsCount(); i++) {
      FilterChain fc = l.getFilterChains(i);
      chains.add(chain(fc, at + ".filter_chains[" + i + "]", clusters));
      matches.add(fc.getFilterChainMatch());
    }
    FilterChainConfig defaultChain = null;
    if (l.hasDefaultFilterChain()) {
      if (l.getDefaultFilterChain().hasFilterChainMatch()) {
        problems.add(ConfigException.at(at + ".default_filter_chain.filter_chain_match", "the default chain has no match"));
      }
      defaultChain = chain(l.getDefaultFilterChain(), at + ".default_filter_chain", clusters);
    }
    FilterChainMatcher<FilterChainConfig> matcher = null;
    try {
      matcher = FilterChainMatcher.build(chains, matches, at + ".filter_chains");
    } catch (ConfigException e) {
      problems.addAll(e.problems());
    }
    if (problems.size() != before) {
      return null;
    }
    ListenerConfig.Sniffing sniffing = new ListenerConfig.Sniffing(
        tlsInspector && (matcher.usesServerNames() || matcher.usesTransportProtocol() || matcher.usesApplicationProtocols()),
        httpInspector && matcher.usesApplicationProtocols(), timeout, l.getContinueOnListenerFiltersTimeout());
    return new ListenerConfig(l.getName(), address, bind, useOriginalDst, readsOriginalDst, matcher, defaultChain, sniffing);
  }

  private FilterChainConfig chain(FilterChain fc, String at, Map<String, ClusterConfig> clusters) {
    if (fc.getFiltersCount() != 1) {
      problems.add(ConfigException.at(at + ".filters", "exactly one network filter, tcp_proxy or http_connection_manager, "
          + "is supported; got " + fc.getFiltersCount()));
      return null;
    }
    Filter filter = fc.getFilters(0);
    String fat = at + ".filters[0].typed_config";
    Optional<Message> config = unpack(filter.hasTypedConfig() ? filter.getTypedConfig() : null, fat);
    if (config.isEmpty()) {
      return null;
    }
    if (config.get() instanceof HttpConnectionManager hcm) {
      HttpConnectionManagerConfig http = new HttpRoutesBuilder(problems, clusters).build(hcm, fat);
      return http == null ? null : FilterChainConfig.http(fc.getName(), http);
    }
    if (!(config.get() instanceof TcpProxy tcp)) {
      problems.add(ConfigException.at(fat, config.get().getDescriptorForType().getFullName() + " is not a network filter"));
      return null;
    }
    if (tcp.getStatPrefix().isEmpty()) {
      problems.add(ConfigException.at(fat + ".stat_prefix", "is required"));
    }
    TcpProxyRoute route = null;
    switch (tcp.getClusterSpecifierCase()) {
      case CLUSTER -> {
        knownCluster(tcp.getCluster(), fat + ".cluster", clusters);
        route = TcpProxyRoute.single(tcp.getStatPrefix(), tcp.getCluster());
      }
      case WEIGHTED_CLUSTERS -> {
        List<String> names = new ArrayList<>();
        List<Integer> weights = new ArrayList<>();
        var list = tcp.getWeightedClusters().getClustersList();
        if (list.isEmpty()) {
          problems.add(ConfigException.at(fat + ".weighted_clusters.clusters", "needs at least one cluster"));
        }
        for (int i = 0; i < list.size(); i++) {
          String wat = fat + ".weighted_clusters.clusters[" + i + "]";
          knownCluster(list.get(i).getName(), wat + ".name", clusters);
          if (list.get(i).getWeight() < 1) {
            problems.add(ConfigException.at(wat + ".weight", "must be at least 1"));
          }
          names.add(list.get(i).getName());
          weights.add(list.get(i).getWeight());
        }
        if (!list.isEmpty()) {
          route = new TcpProxyRoute(tcp.getStatPrefix(), names, weights);
        }
      }
      default -> problems.add(ConfigException.at(fat, "a tcp_proxy needs cluster or weighted_clusters"));
    }
    if (route != null && tcp.hasIdleTimeout()) {
      // Envoy: 0s disables it; unset means one hour
      long idle = timeoutMillis(tcp.getIdleTimeout(), fat + ".idle_timeout", problems);
      route = idle < 0 ? null : route.withIdleTimeout(idle);
    }
    return route == null ? null : FilterChainConfig.tcp(fc.getName(), route);
  }

  /** Envoy's own rule: an ORIGINAL_DST cluster balances by itself (CLUSTER_PROVIDED), every other type by lb_policy. */
  private LoadBalancer.Policy lbPolicy(Cluster c, ClusterConfig.Type type, String at) {
    if (type == null) {
      return null;
    }
    if (type == ClusterConfig.Type.ORIGINAL_DST) {
      if (c.getLbPolicy() != Cluster.LbPolicy.CLUSTER_PROVIDED) {
        problems.add(ConfigException.at(at + ".lb_policy", c.getLbPolicy() + " is not supported for a " + c.getType()
            + " cluster (use CLUSTER_PROVIDED)"));
      }
      return null;
    }
    return switch (c.getLbPolicy()) {
      case ROUND_ROBIN -> LoadBalancer.Policy.ROUND_ROBIN;
      case LEAST_REQUEST -> LoadBalancer.Policy.LEAST_REQUEST;
      default -> {
        problems.add(ConfigException.at(at + ".lb_policy", c.getLbPolicy() + " is not supported for a " + c.getType()
            + " cluster (use ROUND_ROBIN or LEAST_REQUEST)"));
        yield null;
      }
    };
  }

  /** A timeout where 0 means none: refused when negative or under a millisecond. */
  static long timeoutMillis(Duration d, String at, List<String> problems) {
    long millis = d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
    if (millis < 0 || (millis == 0 && d.getNanos() > 0)) {
      problems.add(ConfigException.at(at, "must be 0 (none) or at least 1ms"));
    }
    return millis;
  }

  private void knownCluster(String name, String at, Map<String, ClusterConfig> clusters) {
    knownCluster(name, at, clusters, problems);
  }

  static void knownCluster(String name, String at, Map<String, ClusterConfig> clusters, List<String> problems) {
    if (!clusters.containsKey(name)) {
      problems.add(ConfigException.at(at, "unknown cluster '" + name + "' (clusters: " + String.join(", ", clusters.keySet()) + ")"));
    }
  }

  private Optional<Message> unpack(Any any, String at) {
    if (any == null) {
      problems.add(ConfigException.at(at, "is required"));
      return Optional.empty();
    }
    try {
      Optional<Message> m = SupportedFields.unpack(any);
      if (m.isEmpty()) {
        problems.add(ConfigException.at(at, "typed_config type " + any.getTypeUrl() + " is not supported by vmesh-proxy"));
      }
      return m;
    } catch (InvalidProtocolBufferException e) {
      problems.add(ConfigException.at(at, "cannot decode " + any.getTypeUrl() + ": " + e.getMessage()));
      return Optional.empty();
    }
  }

  /** An IP literal and a port; host names are refused (resolving would block and can change). */
  private InetSocketAddress socketAddress(Address address, String at, boolean needPort) {
    if (!address.hasSocketAddress()) {
      problems.add(ConfigException.at(at + ".socket_address", "is required"));
      return null;
    }
    SocketAddress sa = address.getSocketAddress();
    int before = problems.size();
    if (sa.getProtocol() != SocketAddress.Protocol.TCP) {
      problems.add(ConfigException.at(at + ".socket_address.protocol", sa.getProtocol() + " is not supported (TCP only)"));
    }
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(sa.getAddress());
    if (ip == null) {
      problems.add(ConfigException.at(at + ".socket_address.address", "'" + sa.getAddress() + "' is not an IP address"));
    }
    int port = sa.getPortValue();
    if (port > 65535 || (needPort && port < 1)) {
      problems.add(ConfigException.at(at + ".socket_address.port_value", "must be between 1 and 65535, got " + port));
    }
    if (problems.size() != before) {
      return null;
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(ip), port);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("a 4- or 16-byte address is always valid", e);
    }
  }
}
