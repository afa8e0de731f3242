package io.vmesh.operator.xds;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.List;

/**
 * Everything one proxy should run, state of the world per type: what the generator produces and the ADS server
 * streams. The server derives each type's {@code version_info} from the resources themselves, so an unchanged
 * type is never re-sent.
 */
public record ProxySnapshot(List<Cluster> clusters, List<ClusterLoadAssignment> endpoints,
                            List<Listener> listeners, List<RouteConfiguration> routes) {

  public static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  public static final String ENDPOINT_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  public static final String LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener";
  public static final String ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  /** Make-before-break: clusters before the endpoints they use, listeners before the routes they name. */
  public static final List<String> PUSH_ORDER = List.of(CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE);

  public ProxySnapshot {
    clusters = List.copyOf(clusters);
    endpoints = List.copyOf(endpoints);
    listeners = List.copyOf(listeners);
    routes = List.copyOf(routes);
  }

  public List<? extends Message> resources(String typeUrl) {
    return switch (typeUrl) {
      case CLUSTER_TYPE -> clusters;
      case ENDPOINT_TYPE -> endpoints;
      case LISTENER_TYPE -> listeners;
      case ROUTE_TYPE -> routes;
      default -> throw new IllegalArgumentException("not an xDS type vmesh serves: " + typeUrl);
    };
  }
}
