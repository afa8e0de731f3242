package io.vmesh.proxy.http;

import io.vmesh.proxy.cluster.WeightedClusters;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * An inline {@code RouteConfiguration} as the proxy runs it: the virtual host is chosen by the
 * {@code Host} header with Envoy's precedence (exact, then the longest {@code *suffix}, then the longest
 * {@code prefix*}, then {@code *}), then the first route of that host whose match holds.
 */
public final class RouteTable {

  /** Envoy's {@code RouteMatch}: one path rule plus headers that must all match. */
  public record Route(String name, PathMatch path, List<HeaderMatch> headers, RouteAction action) {

    public Route {
      headers = List.copyOf(headers);
    }

    boolean matches(String pathAndQuery, Function<String, String> header) {
      if (!path.matches(pathAndQuery)) {
        return false;
      }
      // loops, not streams: this runs for every request
      for (int i = 0; i < headers.size(); i++) {
        HeaderMatch h = headers.get(i);
        if (!h.matches(header.apply(h.name()))) {
          return false;
        }
      }
      return true;
    }
  }

  /** {@code prefix} on the whole {@code :path}; {@code path} and {@code safe_regex} on the path without its query. */
  public record PathMatch(Kind kind, String value, Pattern regex) {

    public enum Kind { PREFIX, PATH, REGEX }

    public static PathMatch prefix(String prefix) {
      return new PathMatch(Kind.PREFIX, prefix, null);
    }

    public static PathMatch path(String path) {
      return new PathMatch(Kind.PATH, path, null);
    }

    public static PathMatch regex(String regex) {
      return new PathMatch(Kind.REGEX, regex, Pattern.compile(regex));
    }

    boolean matches(String pathAndQuery) {
      return switch (kind) {
        case PREFIX -> pathAndQuery.startsWith(value);
        case PATH -> withoutQuery(pathAndQuery).equals(value);
        case REGEX -> regex.matcher(withoutQuery(pathAndQuery)).matches();
      };
    }

    private static String withoutQuery(String p) {
      int q = p.indexOf('?');
      return q < 0 ? p : p.substring(0, q);
    }
  }

  /** A {@code HeaderMatcher}: the header is present (or absent), equals a value, or starts with one. */
  public record HeaderMatch(String name, Kind kind, String value, boolean present) {

    public enum Kind { EXACT, PREFIX, PRESENT }

    public HeaderMatch {
      name = name.toLowerCase(Locale.ROOT);
    }

    boolean matches(String actual) {
      return switch (kind) {
        case PRESENT -> (actual != null) == present;
        case EXACT -> actual != null && actual.equals(value);
        case PREFIX -> actual != null && actual.startsWith(value);
      };
    }
  }

  /** Which retries a route makes: the {@code retry_on} conditions and how many retries at most. */
  public record RetryPolicy(Set<String> retryOn, int numRetries) {

    public static final RetryPolicy NONE = new RetryPolicy(Set.of(), 0);
    /** The {@code retry_on} conditions the proxy implements. */
    public static final Set<String> SUPPORTED = Set.of("5xx", "gateway-error", "connect-failure", "reset");

    public RetryPolicy {
      retryOn = Set.copyOf(retryOn);
    }

    /** Envoy: 5xx and gateway-error include connect failures. */
    public boolean onConnectFailure() {
      return retryOn.contains("connect-failure") || retryOn.contains("5xx") || retryOn.contains("gateway-error");
    }

    /** Envoy: 5xx and gateway-error include a reset before the response headers. */
    public boolean onReset() {
      return retryOn.contains("reset") || retryOn.contains("5xx") || retryOn.contains("gateway-error");
    }

    public boolean onStatus(int status) {
      return (retryOn.contains("5xx") && status >= 500) || (retryOn.contains("gateway-error") && status >= 502 && status <= 504);
    }
  }

  /**
   * Where a request goes: a cluster (or weighted ones), within a timeout (0 for none), with retries; {@code upgrades}: its
   * {@code upgrade_configs}, upgrade type (lower case) to enabled, which override the connection manager's.
   */
  public record RouteAction(WeightedClusters clusters, long timeoutMillis, RetryPolicy retry, Map<String, Boolean> upgrades) {

    public RouteAction {
      upgrades = Map.copyOf(upgrades);
    }

    public RouteAction(WeightedClusters clusters, long timeoutMillis, RetryPolicy retry) {
      this(clusters, timeoutMillis, retry, Map.of());
    }
  }

  /** A {@code VirtualHost}: its domains and its routes in order. */
  public record VirtualHost(String name, List<String> domains, List<Route> routes) {

    public VirtualHost {
      domains = List.copyOf(domains);
      routes = List.copyOf(routes);
    }
  }

  private final String name;
  private final Map<String, VirtualHost> exact = new HashMap<>();
  /** {@code *suffix} domains, longest suffix first. */
  private final List<Map.Entry<String, VirtualHost>> suffixes = new ArrayList<>();
  /** {@code prefix*} domains, longest prefix first. */
  private final List<Map.Entry<String, VirtualHost>> prefixes = new ArrayList<>();
  private VirtualHost any;

  /**
   * @throws IllegalArgumentException naming the domain, when two virtual hosts share a domain (Envoy refuses it too)
   */
  public RouteTable(String name, List<VirtualHost> virtualHosts) {
    this.name = name;
    Map<String, String> seen = new HashMap<>();
    for (VirtualHost vh : virtualHosts) {
      for (String d : vh.domains()) {
        String domain = d.toLowerCase(Locale.ROOT);
        String owner = seen.putIfAbsent(domain, vh.name());
        if (owner != null) {
          throw new IllegalArgumentException("domain '" + d + "' is already in virtual host '" + owner + "'");
        }
        if (domain.equals("*")) {
          any = vh;
        } else if (domain.startsWith("*")) {
          suffixes.add(Map.entry(domain.substring(1), vh));
        } else if (domain.endsWith("*")) {
          prefixes.add(Map.entry(domain.substring(0, domain.length() - 1), vh));
        } else {
          exact.put(domain, vh);
        }
      }
    }
    Comparator<Map.Entry<String, VirtualHost>> longestFirst = Comparator.comparingInt(e -> -e.getKey().length());
    suffixes.sort(longestFirst);
    prefixes.sort(longestFirst);
  }

  public String name() {
    return name;
  }

  /** The virtual host for a {@code Host} header value (compared without case, port included as sent). */
  public Optional<VirtualHost> virtualHost(String host) {
    String h = host == null ? "" : host.toLowerCase(Locale.ROOT);
    VirtualHost vh = exact.get(h);
    if (vh != null) {
      return Optional.of(vh);
    }
    // a wildcard never matches the empty string: "*.a.com" takes "b.a.com", not ".a.com"
    for (Map.Entry<String, VirtualHost> e : suffixes) {
      if (h.length() > e.getKey().length() && h.endsWith(e.getKey())) {
        return Optional.of(e.getValue());
      }
    }
    for (Map.Entry<String, VirtualHost> e : prefixes) {
      if (h.length() > e.getKey().length() && h.startsWith(e.getKey())) {
        return Optional.of(e.getValue());
      }
    }
    return Optional.ofNullable(any);
  }

  /**
   * The first matching route of the request's virtual host, or empty (Envoy's NR).
   *
   * @param header a request header's value by lower-case name (several values joined by ","), null when absent
   */
  public Optional<Route> route(String host, String pathAndQuery, Function<String, String> header) {
    Optional<VirtualHost> vh = virtualHost(host);
    if (vh.isEmpty()) {
      return Optional.empty();
    }
    List<Route> routes = vh.get().routes();
    for (int i = 0; i < routes.size(); i++) {
      if (routes.get(i).matches(pathAndQuery, header)) {
        return Optional.of(routes.get(i));
      }
    }
    return Optional.empty();
  }
}
