package io.vmesh.proxy.config;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.vmesh.proxy.cluster.WeightedClusters;
import io.vmesh.proxy.http.Http2Options;
import io.vmesh.proxy.http.HttpConnectionManagerConfig;
import io.vmesh.proxy.http.HttpTimeouts;
import io.vmesh.proxy.http.RouteTable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.PatternSyntaxException;

/** Builds an {@code http_connection_manager}'s inline routes, adding each problem, with its field path, to a shared list. */
final class HttpRoutesBuilder {

  /** Envoy's default route timeout. */
  static final long DEFAULT_ROUTE_TIMEOUT_MILLIS = 15_000;

  /** Checks that a route's cluster exists, adding a problem (with the path) when it does not. */
  interface ClusterCheck {
    void known(String name, String at);
  }

  private final List<String> problems;
  private final ClusterCheck clusters;
  private final Map<String, RouteTable> rds;
  private final Set<String> missingRoutes;

  /**
   * @param rds the route tables received by RDS, by name
   * @param missingRoutes gets each {@code rds.route_config_name} not (yet) in {@code rds}: the listener warms
   */
  HttpRoutesBuilder(List<String> problems, ClusterCheck clusters, Map<String, RouteTable> rds, Set<String> missingRoutes) {
    this.problems = problems;
    this.clusters = clusters;
    this.rds = rds;
    this.missingRoutes = missingRoutes;
  }

  /** The filter's runtime form, or null when anything in it is wrong (the problems are added). */
  HttpConnectionManagerConfig build(HttpConnectionManager hcm, String at) {
    int before = problems.size();
    if (hcm.getStatPrefix().isEmpty()) {
      problems.add(ConfigException.at(at + ".stat_prefix", "is required"));
    }
    HttpConnectionManagerConfig.Codec codec = switch (hcm.getCodecType()) {
      case AUTO -> HttpConnectionManagerConfig.Codec.AUTO;
      case HTTP1 -> HttpConnectionManagerConfig.Codec.HTTP1;
      case HTTP2 -> HttpConnectionManagerConfig.Codec.HTTP2;
      default -> {
        problems.add(ConfigException.at(at + ".codec_type", hcm.getCodecType() + " is not supported (AUTO, HTTP1, HTTP2)"));
        yield null;
      }
    };
    Http2Options http2 = HttpProtocolOptionsBuilder.http2(hcm.getHttp2ProtocolOptions(), at + ".http2_protocol_options", problems);
    for (int i = 0; i < hcm.getHttpFiltersCount(); i++) {
      HttpFilter f = hcm.getHttpFilters(i);
      String fat = at + ".http_filters[" + i + "]";
      if (!f.hasTypedConfig()) {
        problems.add(ConfigException.at(fat + ".typed_config", "is required"));
      } else if (!f.getTypedConfig().getTypeUrl().endsWith("/" + Router.getDescriptor().getFullName())) {
        problems.add(ConfigException.at(fat + ".typed_config", "only the router filter is supported"));
      } else if (i != hcm.getHttpFiltersCount() - 1) {
        problems.add(ConfigException.at(fat, "the router must be the last HTTP filter"));
      }
    }
    RouteTable table;
    switch (hcm.getRouteSpecifierCase()) {
      case ROUTE_CONFIG -> table = routes(hcm.getRouteConfig(), at + ".route_config");
      case RDS -> {
        table = rds(hcm.getRds(), at + ".rds");
        if (table == null) {
          return null;
        }
      }
      default -> {
        problems.add(ConfigException.at(at + ".route_config", "route_config (inline routes) or rds is required"));
        return null;
      }
    }
    HttpTimeouts timeouts = timeouts(hcm, at);
    String rdsName = hcm.hasRds() ? hcm.getRds().getRouteConfigName() : null;
    Map<String, Boolean> upgrades = new LinkedHashMap<>();
    for (int i = 0; i < hcm.getUpgradeConfigsCount(); i++) {
      var u = hcm.getUpgradeConfigs(i);
      upgrade(u.getUpgradeType(), !u.hasEnabled() || u.getEnabled().getValue(), at + ".upgrade_configs[" + i + "]", upgrades);
    }
    return problems.size() == before && table != null
        ? new HttpConnectionManagerConfig(hcm.getStatPrefix(), table, codec, http2, rdsName, timeouts, upgrades) : null;
  }

  /**
   * One {@code upgrade_configs} entry into {@code upgrades} (type in lower case: Envoy matches the request's
   * {@code Upgrade} without case). CONNECT, which Envoy also configures here, is not supported.
   */
  private void upgrade(String type, boolean enabled, String at, Map<String, Boolean> upgrades) {
    String key = type.trim().toLowerCase(Locale.ROOT);
    if (key.isEmpty()) {
      problems.add(ConfigException.at(at + ".upgrade_type", "is required"));
    } else if (key.equals("connect")) {
      problems.add(ConfigException.at(at + ".upgrade_type", "CONNECT is not supported (HTTP/1.1 Upgrade types such as websocket are)"));
    } else if (key.equals("h2c")) {
      problems.add(ConfigException.at(at + ".upgrade_type", "h2c is not supported (Envoy ignores Upgrade: h2c too; use prior knowledge)"));
    } else if (upgrades.putIfAbsent(key, enabled) != null) {
      problems.add(ConfigException.at(at + ".upgrade_type", "'" + type + "' is configured twice"));
    }
  }

  /** The connection manager's timeouts, Envoy's defaults where unset; 0s turns one off (drain_timeout: no grace). */
  private HttpTimeouts timeouts(HttpConnectionManager hcm, String at) {
    HttpTimeouts d = HttpTimeouts.DEFAULTS;
    var common = hcm.getCommonHttpProtocolOptions();
    String cat = at + ".common_http_protocol_options";
    if (common.hasMaxRequestsPerConnection()) {
      problems.add(ConfigException.at(cat + ".max_requests_per_connection",
          "not supported on a connection manager (downstream); a cluster's HttpProtocolOptions takes it"));
    }
    return new HttpTimeouts(
        hcm.hasStreamIdleTimeout() ? RuntimeConfigBuilder.timeoutMillis(hcm.getStreamIdleTimeout(), at + ".stream_idle_timeout", problems)
            : d.streamIdleMillis(),
        hcm.hasRequestTimeout() ? RuntimeConfigBuilder.timeoutMillis(hcm.getRequestTimeout(), at + ".request_timeout", problems)
            : d.requestMillis(),
        common.hasIdleTimeout() ? RuntimeConfigBuilder.timeoutMillis(common.getIdleTimeout(), cat + ".idle_timeout", problems)
            : d.idleMillis(),
        common.hasMaxConnectionDuration()
            ? RuntimeConfigBuilder.timeoutMillis(common.getMaxConnectionDuration(), cat + ".max_connection_duration", problems)
            : d.maxConnectionDurationMillis(),
        hcm.hasDrainTimeout() ? RuntimeConfigBuilder.timeoutMillis(hcm.getDrainTimeout(), at + ".drain_timeout", problems)
            : d.drainMillis());
  }

  /** The RDS table the filter names, or null: a problem, or the table has not arrived (then the name is noted). */
  private RouteTable rds(Rds rds, String at) {
    int before = problems.size();
    if (!rds.getConfigSource().hasAds()) {
      problems.add(ConfigException.at(at + ".config_source", "only ads: {} is supported (routes come over the ADS stream)"));
    }
    if (rds.getRouteConfigName().isEmpty()) {
      problems.add(ConfigException.at(at + ".route_config_name", "is required"));
    }
    if (problems.size() != before) {
      return null;
    }
    RouteTable table = this.rds.get(rds.getRouteConfigName());
    if (table == null) {
      missingRoutes.add(rds.getRouteConfigName());
    }
    return table;
  }

  RouteTable routes(RouteConfiguration rc, String at) {
    List<RouteTable.VirtualHost> hosts = new ArrayList<>();
    for (int v = 0; v < rc.getVirtualHostsCount(); v++) {
      VirtualHost vh = rc.getVirtualHosts(v);
      String vat = at + ".virtual_hosts[" + v + "]";
      if (vh.getName().isEmpty()) {
        problems.add(ConfigException.at(vat + ".name", "a virtual host needs a name"));
      }
      if (vh.getDomainsCount() == 0) {
        problems.add(ConfigException.at(vat + ".domains", "a virtual host needs at least one domain"));
      }
      for (int d = 0; d < vh.getDomainsCount(); d++) {
        String domain = vh.getDomains(d);
        if (domain.isEmpty() || (domain.length() > 1 && domain.startsWith("*") && domain.endsWith("*"))
            || domain.indexOf('*', 1) > 0 && domain.indexOf('*', 1) < domain.length() - 1) {
          problems.add(ConfigException.at(vat + ".domains[" + d + "]", "'" + domain
              + "' is not a domain, '*', '*suffix' or 'prefix*'"));
        }
      }
      List<RouteTable.Route> routes = new ArrayList<>();
      for (int r = 0; r < vh.getRoutesCount(); r++) {
        RouteTable.Route route = route(vh.getRoutes(r), vat + ".routes[" + r + "]");
        if (route != null) {
          routes.add(route);
        }
      }
      hosts.add(new RouteTable.VirtualHost(vh.getName(), vh.getDomainsList(), routes));
    }
    try {
      return new RouteTable(rc.getName(), hosts);
    } catch (IllegalArgumentException e) {
      problems.add(ConfigException.at(at + ".virtual_hosts", e.getMessage()));
      return null;
    }
  }

  private RouteTable.Route route(Route r, String at) {
    int before = problems.size();
    RouteMatch m = r.getMatch();
    String mat = at + ".match";
    RouteTable.PathMatch path = switch (m.getPathSpecifierCase()) {
      case PREFIX -> RouteTable.PathMatch.prefix(m.getPrefix());
      case PATH -> RouteTable.PathMatch.path(m.getPath());
      case SAFE_REGEX -> {
        try {
          yield RouteTable.PathMatch.regex(m.getSafeRegex().getRegex());
        } catch (PatternSyntaxException e) {
          problems.add(ConfigException.at(mat + ".safe_regex.regex", "not a valid regular expression: " + e.getDescription()));
          yield null;
        }
      }
      default -> {
        problems.add(ConfigException.at(mat, "needs prefix, path or safe_regex"));
        yield null;
      }
    };
    List<RouteTable.HeaderMatch> headers = new ArrayList<>();
    for (int h = 0; h < m.getHeadersCount(); h++) {
      HeaderMatcher hm = m.getHeaders(h);
      String hat = mat + ".headers[" + h + "]";
      if (hm.getName().isEmpty()) {
        problems.add(ConfigException.at(hat + ".name", "is required"));
      }
      switch (hm.getHeaderMatchSpecifierCase()) {
        case PRESENT_MATCH -> headers.add(new RouteTable.HeaderMatch(hm.getName(), RouteTable.HeaderMatch.Kind.PRESENT, null,
            hm.getPresentMatch()));
        case STRING_MATCH -> {
          switch (hm.getStringMatch().getMatchPatternCase()) {
            case EXACT -> headers.add(new RouteTable.HeaderMatch(hm.getName(), RouteTable.HeaderMatch.Kind.EXACT,
                hm.getStringMatch().getExact(), true));
            case PREFIX -> headers.add(new RouteTable.HeaderMatch(hm.getName(), RouteTable.HeaderMatch.Kind.PREFIX,
                hm.getStringMatch().getPrefix(), true));
            default -> problems.add(ConfigException.at(hat + ".string_match", "needs exact or prefix"));
          }
        }
        default -> problems.add(ConfigException.at(hat, "needs present_match or string_match"));
      }
    }
    if (!r.hasRoute()) {
      problems.add(ConfigException.at(at + ".route", "is required (the only supported action)"));
      return null;
    }
    RouteTable.RouteAction action = action(r.getRoute(), at + ".route");
    return problems.size() == before ? new RouteTable.Route(r.getName(), path, headers, action) : null;
  }

  private RouteTable.RouteAction action(RouteAction a, String at) {
    WeightedClusters target = null;
    switch (a.getClusterSpecifierCase()) {
      case CLUSTER -> {
        knownCluster(a.getCluster(), at + ".cluster");
        target = WeightedClusters.single(a.getCluster());
      }
      case WEIGHTED_CLUSTERS -> {
        List<WeightedCluster.ClusterWeight> list = a.getWeightedClusters().getClustersList();
        List<String> names = new ArrayList<>();
        List<Integer> weights = new ArrayList<>();
        if (list.isEmpty()) {
          problems.add(ConfigException.at(at + ".weighted_clusters.clusters", "needs at least one cluster"));
        }
        for (int i = 0; i < list.size(); i++) {
          String wat = at + ".weighted_clusters.clusters[" + i + "]";
          knownCluster(list.get(i).getName(), wat + ".name");
          int weight = list.get(i).getWeight().getValue();
          if (weight < 1) {
            problems.add(ConfigException.at(wat + ".weight", "must be at least 1"));
          }
          names.add(list.get(i).getName());
          weights.add(weight);
        }
        if (!list.isEmpty()) {
          target = new WeightedClusters(names, weights);
        }
      }
      default -> problems.add(ConfigException.at(at, "needs cluster or weighted_clusters"));
    }
    long timeout = a.hasTimeout() ? RuntimeConfigBuilder.timeoutMillis(a.getTimeout(), at + ".timeout", problems)
        : DEFAULT_ROUTE_TIMEOUT_MILLIS;
    RouteTable.RetryPolicy retry = RouteTable.RetryPolicy.NONE;
    if (a.hasRetryPolicy()) {
      Set<String> on = new LinkedHashSet<>();
      for (String c : a.getRetryPolicy().getRetryOn().split(",")) {
        String condition = c.trim();
        if (condition.isEmpty()) {
          continue;
        }
        if (!RouteTable.RetryPolicy.SUPPORTED.contains(condition)) {
          problems.add(ConfigException.at(at + ".retry_policy.retry_on", "'" + condition + "' is not supported (supported: "
              + String.join(", ", new java.util.TreeSet<>(RouteTable.RetryPolicy.SUPPORTED)) + ")"));
        }
        on.add(condition);
      }
      // Envoy's default when a retry policy is given without num_retries
      int n = a.getRetryPolicy().hasNumRetries() ? a.getRetryPolicy().getNumRetries().getValue() : 1;
      retry = new RouteTable.RetryPolicy(on, n);
    }
    Map<String, Boolean> upgrades = new LinkedHashMap<>();
    for (int i = 0; i < a.getUpgradeConfigsCount(); i++) {
      var u = a.getUpgradeConfigs(i);
      upgrade(u.getUpgradeType(), !u.hasEnabled() || u.getEnabled().getValue(), at + ".upgrade_configs[" + i + "]", upgrades);
    }
    return new RouteTable.RouteAction(target, timeout, retry, upgrades);
  }

  private void knownCluster(String name, String at) {
    clusters.known(name, at);
  }
}
