package io.vmesh.proxy.config;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The resources received over xDS and accepted, by type and name, each with the {@code version_info} of
 * the response that brought it. Immutable: an update makes a new instance with one type replaced.
 *
 * @param versions the {@code version_info} last accepted, by type; a type never received is absent (which
 *                 is not the same as received empty: the first complete config needs CDS and LDS)
 */
public record XdsResources(Map<String, Versioned<Cluster>> clusters, Map<String, Versioned<ClusterLoadAssignment>> endpoints,
                           Map<String, Versioned<Listener>> listeners, Map<String, Versioned<RouteConfiguration>> routes,
                           Map<Type, String> versions) {

  /** The four resource types of ADS, in Envoy's make-before-break order. */
  public enum Type {
    CLUSTER("type.googleapis.com/envoy.config.cluster.v3.Cluster", "clusters"),
    ENDPOINT("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "endpoints"),
    LISTENER("type.googleapis.com/envoy.config.listener.v3.Listener", "listeners"),
    ROUTE("type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "route_configs");

    private final String typeUrl;
    private final String path;

    Type(String typeUrl, String path) {
      this.typeUrl = typeUrl;
      this.path = path;
    }

    public String typeUrl() {
      return typeUrl;
    }

    /** How a resource of this type is named in a problem's field path: {@code clusters[outbound|80||web]}. */
    public String path(String name) {
      return path + "[" + name + "]";
    }

    public static Optional<Type> ofTypeUrl(String url) {
      for (Type t : values()) {
        if (t.typeUrl.equals(url)) {
          return Optional.of(t);
        }
      }
      return Optional.empty();
    }
  }

  public record Versioned<T extends Message>(T resource, String version, Instant lastUpdated) {
  }

  public static final XdsResources EMPTY = new XdsResources(Map.of(), Map.of(), Map.of(), Map.of(), Map.of());

  public XdsResources {
    clusters = Collections.unmodifiableMap(new LinkedHashMap<>(clusters));
    endpoints = Collections.unmodifiableMap(new LinkedHashMap<>(endpoints));
    listeners = Collections.unmodifiableMap(new LinkedHashMap<>(listeners));
    routes = Collections.unmodifiableMap(new LinkedHashMap<>(routes));
    versions = Collections.unmodifiableMap(versions.isEmpty() ? new EnumMap<>(Type.class) : new EnumMap<>(versions));
  }

  /**
   * These resources with a response of {@code type} applied, by Envoy's state-of-the-world rules: for
   * clusters and listeners the response is the whole set (a name missing from it is removed); for
   * endpoints and routes it replaces the resources it names and leaves the others (they go when nothing
   * uses them, see {@link #retain}). A resource whose content did not change keeps its version and time,
   * as Envoy's config dump shows them.
   */
  @SuppressWarnings("unchecked")
  public XdsResources with(Type type, Map<String, ? extends Message> resources, String version, Instant now) {
    Map<Type, String> types = new EnumMap<>(Type.class);
    types.putAll(versions);
    types.put(type, version);
    return switch (type) {
      case CLUSTER -> new XdsResources(merge(clusters, (Map<String, Cluster>) resources, version, now, true), endpoints, listeners,
          routes, types);
      case ENDPOINT -> new XdsResources(clusters, merge(endpoints, (Map<String, ClusterLoadAssignment>) resources, version, now, false),
          listeners, routes, types);
      case LISTENER -> new XdsResources(clusters, endpoints, merge(listeners, (Map<String, Listener>) resources, version, now, true),
          routes, types);
      case ROUTE -> new XdsResources(clusters, endpoints, listeners,
          merge(routes, (Map<String, RouteConfiguration>) resources, version, now, false), types);
    };
  }

  /** These resources without the endpoints and routes whose names are not in {@code endpointNames} / {@code routeNames}. */
  public XdsResources retain(Set<String> endpointNames, Set<String> routeNames) {
    Map<String, Versioned<ClusterLoadAssignment>> e = new LinkedHashMap<>(endpoints);
    e.keySet().retainAll(endpointNames);
    Map<String, Versioned<RouteConfiguration>> r = new LinkedHashMap<>(routes);
    r.keySet().retainAll(routeNames);
    return new XdsResources(clusters, e, listeners, r, versions);
  }

  private static <T extends Message> Map<String, Versioned<T>> merge(Map<String, Versioned<T>> old, Map<String, T> now,
                                                                      String version, Instant at, boolean whole) {
    Map<String, Versioned<T>> merged = new LinkedHashMap<>();
    if (!whole) {
      merged.putAll(old);
    }
    now.forEach((name, resource) -> {
      Versioned<T> before = old.get(name);
      merged.put(name, before != null && before.resource().equals(resource) ? before : new Versioned<>(resource, version, at));
    });
    return merged;
  }
}
