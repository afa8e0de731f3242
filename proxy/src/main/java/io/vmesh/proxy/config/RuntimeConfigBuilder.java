package io.vmesh.proxy.config;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
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
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.netty.util.NetUtil;
import io.vmesh.proxy.accesslog.AccessLogger;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.cluster.LoadBalancer;
import io.vmesh.proxy.cluster.OutlierDetection;
import io.vmesh.proxy.filter.TcpProxyRoute;
import io.vmesh.proxy.http.HttpConnectionManagerConfig;
import io.vmesh.proxy.http.RouteTable;
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
import java.util.LinkedHashSet;
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
  // xDS resources may name a cluster that a later push brings or that an earlier one removed (Envoy
  // answers such a connection with "no cluster"); a bootstrap may not
  private final boolean dynamic;
  private final Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
  private final Set<String> missingClusters = new LinkedHashSet<>();
  /** Each kept listener's {@code additional_addresses}, by listener name. */
  private final Map<String, List<InetSocketAddress>> additionalAddresses = new HashMap<>();
  private Map<String, RouteTable> rds = Map.of();
  private Clock clock;
  private final String adsCluster;
  // a bootstrap vmesh-proxy built itself (buildBuiltIn)
  private final boolean builtIn;

  private RuntimeConfigBuilder(Bootstrap bootstrap, boolean builtIn) {
    this.builtIn = builtIn;
    this.dynamic = bootstrap.hasDynamicResources();
    var grpc = bootstrap.getDynamicResources().getAdsConfig().getGrpcServicesList();
    this.adsCluster = grpc.isEmpty() ? null : grpc.get(0).getEnvoyGrpc().getClusterName();
  }

  /** A configuration from a bootstrap alone (static resources). */
  public static RuntimeConfig build(Bootstrap bootstrap, Clock clock) throws ConfigException {
    return build(bootstrap, XdsResources.EMPTY, null, clock);
  }

  /**
   * A configuration from a bootstrap that vmesh-proxy built itself ({@link DefaultBootstrap}, {@code
   * SidecarBootstrap}): the semantic checks run, the walk against {@link SupportedFields} does not, since
   * such a bootstrap sets only supported fields by construction (their tests check it) and the walk would
   * build Envoy's descriptors before the sidecar is ready. For the same reason its clusters' {@code
   * typed_extension_protocol_options} are not read: the built-in ones set none (tests check it), and reading
   * that map, even empty, makes the generated code build the descriptors of {@code cluster.proto} and of
   * every file it imports (~340 classes, a fifth of the CPU to ready).
   */
  public static RuntimeConfig buildBuiltIn(Bootstrap bootstrap, Clock clock) throws ConfigException {
    return new RuntimeConfigBuilder(bootstrap, true).run(bootstrap, XdsResources.EMPTY, null, clock);
  }

  /**
   * A configuration from a bootstrap plus the resources received over xDS, each checked against the
   * supported subset; a problem in an xDS resource is named {@code clusters[NAME].field...} (or
   * {@code endpoints[..]}, {@code listeners[..]}, {@code route_configs[..]}).
   *
   * @param previous the running configuration, whose active version of a listener keeps serving while the
   *                 listener's new version waits for its routes (warming); null for none
   */
  public static RuntimeConfig build(Bootstrap bootstrap, XdsResources xds, RuntimeConfig previous, Clock clock) throws ConfigException {
    List<String> unsupported = new ArrayList<>();
    collect(() -> SupportedFields.check(bootstrap, ""), unsupported);
    xds.clusters().forEach((name, c) -> collect(() -> SupportedFields.check(c.resource(), XdsResources.Type.CLUSTER.path(name)), unsupported));
    xds.endpoints().forEach((name, c) -> collect(() -> SupportedFields.check(c.resource(), XdsResources.Type.ENDPOINT.path(name)), unsupported));
    xds.listeners().forEach((name, c) -> collect(() -> SupportedFields.check(c.resource(), XdsResources.Type.LISTENER.path(name)), unsupported));
    xds.routes().forEach((name, c) -> collect(() -> SupportedFields.check(c.resource(), XdsResources.Type.ROUTE.path(name)), unsupported));
    if (!unsupported.isEmpty()) {
      throw new ConfigException(unsupported);
    }
    return new RuntimeConfigBuilder(bootstrap, false).run(bootstrap, xds, previous, clock);
  }

  private interface Check {
    void run() throws ConfigException;
  }

  private static void collect(Check check, List<String> problems) {
    try {
      check.run();
    } catch (ConfigException e) {
      problems.addAll(e.problems());
    }
  }

  private RuntimeConfig run(Bootstrap bootstrap, XdsResources xds, RuntimeConfig previous, Clock clock) throws ConfigException {
    this.clock = clock;
    InetSocketAddress admin = null;
    if (bootstrap.hasAdmin()) {
      admin = socketAddress(bootstrap.getAdmin().getAddress(), "admin.address", true);
    }
    if (!dynamic && !xds.equals(XdsResources.EMPTY)) {
      throw new IllegalArgumentException("xDS resources without dynamic_resources in the bootstrap");
    }
    Bootstrap.StaticResources resources = bootstrap.getStaticResources();
    Map<String, List<InetSocketAddress>> assignments = new HashMap<>();
    xds.endpoints().forEach((name, cla) -> {
      List<InetSocketAddress> endpoints = endpoints(cla.resource(), XdsResources.Type.ENDPOINT.path(name));
      if (!cla.resource().getClusterName().isEmpty() && !cla.resource().getClusterName().equals(name)) {
        problems.add(ConfigException.at(XdsResources.Type.ENDPOINT.path(name) + ".cluster_name", "'"
            + cla.resource().getClusterName() + "' differs from the resource's name"));
      }
      assignments.put(name, endpoints);
    });
    Set<String> warmingClusters = new LinkedHashSet<>();
    Set<String> clusterNames = new HashSet<>();
    for (int i = 0; i < resources.getClustersCount(); i++) {
      cluster(resources.getClusters(i), "static_resources.clusters[" + i + "]", true, clusterNames, assignments, warmingClusters);
    }
    xds.clusters().forEach((name, c) ->
        cluster(c.resource(), XdsResources.Type.CLUSTER.path(name), false, clusterNames, assignments, warmingClusters));
    AdsConfig ads = bootstrap.hasDynamicResources() ? ads(bootstrap.getDynamicResources(), resources.getClustersList()) : null;
    Map<String, RouteTable> tables = new HashMap<>();
    xds.routes().forEach((name, rc) -> {
      String at = XdsResources.Type.ROUTE.path(name);
      if (!rc.resource().getName().equals(name)) {
        problems.add(ConfigException.at(at + ".name", "'" + rc.resource().getName() + "' differs from the resource's name"));
      }
      RouteTable table = new HttpRoutesBuilder(problems, this::knownCluster, Map.of(), new HashSet<>()).routes(rc.resource(), at);
      if (table != null) {
        tables.put(name, table);
      }
    });
    rds = tables;

    Map<String, ListenerConfig> listeners = new LinkedHashMap<>();
    Map<String, String> addressOwners = new HashMap<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < resources.getListenersCount(); i++) {
      Listener proto = resources.getListeners(i);
      String at = "static_resources.listeners[" + i + "]";
      Set<String> missingRoutes = new LinkedHashSet<>();
      ListenerConfig listener = listener(proto, at, missingRoutes);
      if (!missingRoutes.isEmpty()) {
        problems.add(ConfigException.at(at, "a static listener cannot wait for routes " + missingRoutes
            + " from RDS; put it in LDS or its routes inline"));
      }
      add(proto, listener, at, names, addressOwners, listeners);
    }
    Map<String, XdsResources.Versioned<Listener>> active = new LinkedHashMap<>();
    Set<String> warmingListeners = new LinkedHashSet<>();
    for (Map.Entry<String, XdsResources.Versioned<Listener>> e : xds.listeners().entrySet()) {
      String at = XdsResources.Type.LISTENER.path(e.getKey());
      XdsResources.Versioned<Listener> version = e.getValue();
      if (!version.resource().getName().equals(e.getKey())) {
        problems.add(ConfigException.at(at + ".name", "'" + version.resource().getName() + "' differs from the resource's name"));
      }
      Set<String> missingRoutes = new LinkedHashSet<>();
      ListenerConfig listener = listener(version.resource(), at, missingRoutes);
      if (!missingRoutes.isEmpty()) {
        // warming: the version that runs now (if any) goes on serving until the new one's routes arrive
        warmingListeners.add(e.getKey());
        version = previous == null ? null : previous.activeListeners().get(e.getKey());
        listener = null;
        if (version != null) {
          int before = problems.size();
          missingRoutes.clear();
          listener = listener(version.resource(), at, missingRoutes);
          // the old version's own problems are not this update's: it simply stops
          problems.subList(before, problems.size()).clear();
          if (!missingRoutes.isEmpty()) {
            listener = null;
          }
        }
        if (listener == null) {
          continue;
        }
      }
      if (add(version.resource(), listener, at, names, addressOwners, listeners)) {
        active.put(e.getKey(), version);
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    // references to clusters that are not (or no longer) there: no endpoints, so "no healthy upstream"
    missingClusters.forEach(name -> clusters.put(name, new ClusterConfig(name, ClusterConfig.Type.STATIC, List.of(),
        DEFAULT_CONNECT_TIMEOUT_MILLIS, null)));
    Map<InetSocketAddress, ListenerConfig> exact = new HashMap<>();
    Map<String, ListenerConfig> wildcard = new HashMap<>();
    for (ListenerConfig l : listeners.values()) {
      if (!l.bindToPort()) {
        List<InetSocketAddress> owned = new ArrayList<>(List.of(l.address()));
        owned.addAll(additionalAddresses.getOrDefault(l.name(), List.of()));
        for (InetSocketAddress a : owned) {
          if (a.getAddress().isAnyLocalAddress()) {
            wildcard.put(RuntimeConfig.wildcardKey(a), l);
          } else {
            exact.put(a, l);
          }
        }
      }
    }
    return new RuntimeConfig(bootstrap, Collections.unmodifiableMap(listeners), Collections.unmodifiableMap(clusters),
        Map.copyOf(exact), Map.copyOf(wildcard), admin, clock.instant(), xds, Collections.unmodifiableMap(active),
        Set.copyOf(warmingListeners), Set.copyOf(warmingClusters), ads, Map.copyOf(rds));
  }

  /** Adds a listener that built; false when it did not or its name or address is taken. */
  private boolean add(Listener proto, ListenerConfig listener, String at, Set<String> names, Map<String, String> addressOwners,
                      Map<String, ListenerConfig> listeners) {
    int before = problems.size();
    if (proto.getName().isEmpty()) {
      problems.add(ConfigException.at(at + ".name", "a listener needs a name"));
    } else if (!names.add(proto.getName())) {
      problems.add(ConfigException.at(at + ".name", "duplicate listener name '" + proto.getName() + "'"));
    }
    if (listener == null) {
      return false;
    }
    String key = (listener.bindToPort() ? "bound " : "handoff ") + listener.address();
    String owner = addressOwners.putIfAbsent(key, at);
    if (owner != null) {
      problems.add(ConfigException.at(at + ".address", "the same address as " + owner));
    }
    List<InetSocketAddress> extra = additionalAddresses(proto, listener, at, addressOwners);
    if (problems.size() == before) {
      listeners.putIfAbsent(listener.name(), listener);
      additionalAddresses.put(listener.name(), extra);
    }
    return problems.size() == before;
  }

  /**
   * {@code additional_addresses}: more {@code ip:port} a handed-off listener owns (Istio's dual-stack listeners carry
   * the other family's VIP or wildcard there). A listener that binds its port binds one socket, so it may have none.
   */
  private List<InetSocketAddress> additionalAddresses(Listener proto, ListenerConfig listener, String at, Map<String, String> addressOwners) {
    List<InetSocketAddress> out = new ArrayList<>();
    for (int i = 0; i < proto.getAdditionalAddressesCount(); i++) {
      String aat = at + ".additional_addresses[" + i + "].address";
      if (listener.bindToPort()) {
        problems.add(ConfigException.at(at + ".additional_addresses", "only a listener with bind_to_port: false may have "
            + "additional addresses (this proxy binds one socket per listener)"));
        return out;
      }
      InetSocketAddress a = socketAddress(proto.getAdditionalAddresses(i).getAddress(), aat, true);
      if (a == null) {
        continue;
      }
      String owner = addressOwners.putIfAbsent("handoff " + a, aat);
      if (owner != null) {
        problems.add(ConfigException.at(aat, "the same address as " + owner));
      }
      out.add(a);
    }
    return out;
  }

  private void cluster(Cluster c, String at, boolean isStatic, Set<String> names, Map<String, List<InetSocketAddress>> assignments,
                       Set<String> warming) {
    int before = problems.size();
    if (c.getName().isEmpty()) {
      problems.add(ConfigException.at(at + ".name", "a cluster needs a name"));
    } else if (!names.add(c.getName())) {
      problems.add(ConfigException.at(at + ".name", "duplicate cluster name '" + c.getName() + "'"));
    }
    if (isStatic && c.getName().equals(adsCluster)) {
      // the xDS client's own cluster, checked with dynamic_resources.ads_config; no route goes there
      return;
    }
    ClusterConfig.Type type = switch (c.getType()) {
      case STATIC -> ClusterConfig.Type.STATIC;
      case EDS -> ClusterConfig.Type.STATIC;
      case ORIGINAL_DST -> ClusterConfig.Type.ORIGINAL_DST;
      // only the xDS server's cluster (returned above) may name a host, which the gRPC client resolves
      case STRICT_DNS, LOGICAL_DNS -> null;
      default -> {
        problems.add(ConfigException.at(at + ".type", c.getType() + " is not supported (STATIC, EDS, ORIGINAL_DST)"));
        yield null;
      }
    };
    if (type == null && problems.size() > before) {
      return;
    }
    if (c.hasTransportSocket() || type == null) {
      problems.add(ConfigException.at(at + (type == null ? ".type" : ".transport_socket"), (type == null ? c.getType()
          + " is" : "upstream TLS is") + " supported only for the cluster that dynamic_resources.ads_config names"));
      return;
    }
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
    if (c.getType() == Cluster.DiscoveryType.EDS) {
      if (c.hasLoadAssignment()) {
        problems.add(ConfigException.at(at + ".load_assignment", "an EDS cluster gets its endpoints from EDS"));
      }
      if (!dynamic) {
        problems.add(ConfigException.at(at + ".type", "EDS needs dynamic_resources.ads_config (endpoints come over ADS)"));
      } else if (!c.getEdsClusterConfig().getEdsConfig().hasAds()) {
        problems.add(ConfigException.at(at + ".eds_cluster_config.eds_config", "only ads: {} is supported (endpoints come over the ADS stream)"));
      }
      String service = c.getEdsClusterConfig().getServiceName().isEmpty() ? c.getName() : c.getEdsClusterConfig().getServiceName();
      List<InetSocketAddress> assigned = assignments.get(service);
      if (assigned == null) {
        warming.add(c.getName());
      } else {
        endpoints.addAll(assigned);
      }
    } else if (c.hasEdsClusterConfig()) {
      problems.add(ConfigException.at(at + ".eds_cluster_config", "only for a cluster of type EDS"));
    }
    if (c.hasLoadAssignment() && c.getType() != Cluster.DiscoveryType.EDS) {
      if (type == ClusterConfig.Type.ORIGINAL_DST) {
        problems.add(ConfigException.at(at + ".load_assignment", "an ORIGINAL_DST cluster has no endpoints of its own"));
      }
      endpoints.addAll(endpoints(c.getLoadAssignment(), at + ".load_assignment"));
    }
    String source = null;
    List<String> extraSources = new ArrayList<>();
    if (c.hasUpstreamBindConfig()) {
      String src = at + ".upstream_bind_config.source_address";
      SocketAddress sa = c.getUpstreamBindConfig().getSourceAddress();
      if (sa.getPortValue() != 0) {
        problems.add(ConfigException.at(src + ".port_value", "a fixed source port is not supported (leave it 0)"));
      }
      InetSocketAddress bind = socketAddress(Address.newBuilder().setSocketAddress(sa).build(), src, false);
      source = bind == null ? null : NetUtil.toAddressString(bind.getAddress());
      for (int i = 0; i < c.getUpstreamBindConfig().getExtraSourceAddressesCount(); i++) {
        String extraAt = at + ".upstream_bind_config.extra_source_addresses[" + i + "].address";
        SocketAddress extra = c.getUpstreamBindConfig().getExtraSourceAddresses(i).getAddress();
        if (extra.getPortValue() != 0) {
          problems.add(ConfigException.at(extraAt + ".port_value", "a fixed source port is not supported (leave it 0)"));
        }
        InetSocketAddress e = socketAddress(Address.newBuilder().setSocketAddress(extra).build(), extraAt, false);
        if (e != null && bind != null && (e.getAddress() instanceof java.net.Inet6Address) == (bind.getAddress() instanceof java.net.Inet6Address)) {
          // Envoy's rule: each extra address must be of the other family than source_address
          problems.add(ConfigException.at(extraAt, "must be of another IP version than source_address"));
        } else if (e != null) {
          extraSources.add(NetUtil.toAddressString(e.getAddress()));
        }
      }
    }
    UpstreamProtocol httpProtocol = builtIn ? UpstreamProtocol.HTTP1 : HttpProtocolOptionsBuilder.upstream(c, at, problems);
    if (problems.size() == before) {
      clusters.put(c.getName(), new ClusterConfig(c.getName(), type, endpoints, timeout, source, extraSources, policy, outlier, clock, httpProtocol));
    }
  }

  /**
   * {@code dynamic_resources}: ADS over gRPC to one static cluster (IP endpoints, or a host name with
   * STRICT_DNS / LOGICAL_DNS), optionally TLS with a trusted CA file; LDS and CDS, when given, by ADS.
   */
  private AdsConfig ads(Bootstrap.DynamicResources d, List<Cluster> staticClusters) {
    String at = "dynamic_resources";
    int before = problems.size();
    for (String source : List.of("lds_config", "cds_config")) {
      var field = Bootstrap.DynamicResources.getDescriptor().findFieldByName(source);
      if (d.hasField(field) && !((ConfigSource) d.getField(field)).hasAds()) {
        problems.add(ConfigException.at(at + "." + source, "only ads: {} is supported"));
      }
    }
    if (!d.hasAdsConfig()) {
      problems.add(ConfigException.at(at + ".ads_config", "is required (vmesh-proxy gets dynamic resources over ADS only)"));
      return null;
    }
    ApiConfigSource api = d.getAdsConfig();
    if (api.getApiType() != ApiConfigSource.ApiType.GRPC) {
      problems.add(ConfigException.at(at + ".ads_config.api_type", api.getApiType() + " is not supported (GRPC)"));
    }
    if (api.getTransportApiVersion() != ApiVersion.AUTO && api.getTransportApiVersion() != ApiVersion.V3) {
      problems.add(ConfigException.at(at + ".ads_config.transport_api_version", api.getTransportApiVersion() + " is not supported (V3)"));
    }
    if (api.getGrpcServicesCount() != 1 || !api.getGrpcServices(0).hasEnvoyGrpc()) {
      problems.add(ConfigException.at(at + ".ads_config.grpc_services", "exactly one, with envoy_grpc.cluster_name"));
      return null;
    }
    String gat = at + ".ads_config.grpc_services[0].envoy_grpc.cluster_name";
    Cluster cluster = staticClusters.stream().filter(c -> c.getName().equals(adsCluster)).findFirst().orElse(null);
    if (cluster == null) {
      problems.add(ConfigException.at(gat, "'" + adsCluster + "' is not a cluster of static_resources"));
      return null;
    }
    String cat = "static_resources.clusters[" + staticClusters.indexOf(cluster) + "]";
    if (cluster.getType() != Cluster.DiscoveryType.STATIC && cluster.getType() != Cluster.DiscoveryType.STRICT_DNS
        && cluster.getType() != Cluster.DiscoveryType.LOGICAL_DNS) {
      problems.add(ConfigException.at(cat + ".type", "the xDS cluster must be STATIC, STRICT_DNS or LOGICAL_DNS"));
    }
    boolean names = cluster.getType() != Cluster.DiscoveryType.STATIC;
    List<AdsConfig.Endpoint> endpoints = new ArrayList<>();
    var localities = cluster.getLoadAssignment().getEndpointsList();
    for (int l = 0; l < localities.size(); l++) {
      for (int e = 0; e < localities.get(l).getLbEndpointsCount(); e++) {
        String eat = cat + ".load_assignment.endpoints[" + l + "].lb_endpoints[" + e + "].endpoint.address.socket_address";
        SocketAddress sa = localities.get(l).getLbEndpoints(e).getEndpoint().getAddress().getSocketAddress();
        if (sa.getAddress().isEmpty() || (!names && !NetUtil.isValidIpV4Address(sa.getAddress())
            && !NetUtil.isValidIpV6Address(sa.getAddress()))) {
          problems.add(ConfigException.at(eat + ".address", "'" + sa.getAddress() + "' is not an IP address"
              + (names ? "" : " (a host name needs type STRICT_DNS)")));
        }
        if (sa.getPortValue() < 1 || sa.getPortValue() > 65535) {
          problems.add(ConfigException.at(eat + ".port_value", "must be between 1 and 65535, got " + sa.getPortValue()));
        }
        endpoints.add(new AdsConfig.Endpoint(sa.getAddress(), sa.getPortValue()));
      }
    }
    if (endpoints.isEmpty()) {
      problems.add(ConfigException.at(cat + ".load_assignment", "the xDS cluster needs at least one endpoint"));
    }
    Optional<String> ca = Optional.empty();
    if (cluster.hasTransportSocket()) {
      String tat = cat + ".transport_socket.typed_config";
      Optional<Message> tls = unpack(cluster.getTransportSocket().hasTypedConfig() ? cluster.getTransportSocket().getTypedConfig() : null, tat);
      if (tls.isPresent() && tls.get() instanceof UpstreamTlsContext ctx) {
        String file = ctx.getCommonTlsContext().getValidationContext().getTrustedCa().getFilename();
        if (file.isEmpty()) {
          problems.add(ConfigException.at(tat + ".common_tls_context.validation_context.trusted_ca.filename",
              "is required: the server's certificate is always verified"));
        }
        ca = Optional.of(file);
      } else if (tls.isPresent()) {
        problems.add(ConfigException.at(tat, "must be an UpstreamTlsContext"));
      }
    }
    int timeout = cluster.hasConnectTimeout() ? (int) Math.max(1, Math.min(Integer.MAX_VALUE,
        cluster.getConnectTimeout().getSeconds() * 1000 + cluster.getConnectTimeout().getNanos() / 1_000_000))
        : DEFAULT_CONNECT_TIMEOUT_MILLIS;
    return problems.size() == before ? new AdsConfig(adsCluster, endpoints, ca, timeout) : null;
  }

  private List<InetSocketAddress> endpoints(ClusterLoadAssignment cla, String at) {
    List<InetSocketAddress> endpoints = new ArrayList<>();
    List<LocalityLbEndpoints> localities = cla.getEndpointsList();
    for (int l = 0; l < localities.size(); l++) {
      List<LbEndpoint> lbs = localities.get(l).getLbEndpointsList();
      for (int e = 0; e < lbs.size(); e++) {
        String ep = at + ".endpoints[" + l + "].lb_endpoints[" + e + "].endpoint.address";
        InetSocketAddress a = socketAddress(lbs.get(e).getEndpoint().getAddress(), ep, true);
        if (a != null) {
          endpoints.add(a);
        }
      }
    }
    return endpoints;
  }

  private ListenerConfig listener(Listener l, String at, Set<String> missingRoutes) {
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
      chains.add(chain(fc, at + ".filter_chains[" + i + "]", missingRoutes));
      matches.add(fc.getFilterChainMatch());
    }
    FilterChainConfig defaultChain = null;
    if (l.hasDefaultFilterChain()) {
      if (l.getDefaultFilterChain().hasFilterChainMatch()) {
        problems.add(ConfigException.at(at + ".default_filter_chain.filter_chain_match", "the default chain has no match"));
      }
      defaultChain = chain(l.getDefaultFilterChain(), at + ".default_filter_chain", missingRoutes);
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
    ListenerConfig.Sniffing sniffing = new ListenerConfig.Sniffing(tlsInspector, httpInspector, timeout,
        l.getContinueOnListenerFiltersTimeout());
    List<AccessLogger> accessLogs = AccessLogBuilder.build(l.getAccessLogList(), at + ".access_log", problems);
    if (problems.size() != before) {
      return null;
    }
    return new ListenerConfig(l.getName(), address, bind, useOriginalDst, readsOriginalDst, matcher, defaultChain, sniffing,
        accessLogs);
  }

  private FilterChainConfig chain(FilterChain fc, String at, Set<String> missingRoutes) {
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
      HttpConnectionManagerConfig http = new HttpRoutesBuilder(problems, this::knownCluster, rds, missingRoutes).build(hcm, fat);
      List<AccessLogger> logs = AccessLogBuilder.build(hcm.getAccessLogList(), fat + ".access_log", problems);
      return http == null ? null : FilterChainConfig.http(fc.getName(), http).withAccessLogs(logs);
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
        knownCluster(tcp.getCluster(), fat + ".cluster");
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
          knownCluster(list.get(i).getName(), wat + ".name");
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
    List<AccessLogger> logs = AccessLogBuilder.build(tcp.getAccessLogList(), fat + ".access_log", problems);
    return route == null ? null : FilterChainConfig.tcp(fc.getName(), route).withAccessLogs(logs);
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

  private void knownCluster(String name, String at) {
    if (clusters.containsKey(name)) {
      return;
    }
    if (dynamic && !name.isEmpty()) {
      missingClusters.add(name);
    } else {
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
