package io.vmesh.operator.xds;

import io.envoyproxy.envoy.config.core.v3.ControlPlane;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.vertx.grpc.server.GrpcServerRequest;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ADS stream, incremental ({@code DeltaAggregatedResources}): per type the proxy subscribes to all resources
 * (wildcard: an empty first subscription, or {@code *}) or to names, and says in {@code initial_resource_versions}
 * what it already has. The server sends only the resources whose content hash (their {@code version}) differs from
 * what the proxy has, and names in {@code removed_resources} those it has that are gone: an endpoint change is one
 * ClusterLoadAssignment on the wire. ACK and NACK as in state of the world, by the latest nonce of the type; a NACKed
 * resource is not re-sent until its content changes again.
 */
final class DeltaStream extends AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {

  private static final Logger LOG = LoggerFactory.getLogger(DeltaStream.class);
  static final String WILDCARD = "*";

  /** One type's subscription and what the proxy has (name → resource version, as sent or as it said it had). */
  private static final class Subscription {
    boolean wildcard;
    final Set<String> names = new HashSet<>();
    final Map<String, String> known = new HashMap<>();

    boolean wants(String name) {
      return wildcard || names.contains(name);
    }
  }

  private final Map<String, Subscription> subscriptions = new HashMap<>();

  DeltaStream(AdsServer server, GrpcServerRequest<DeltaDiscoveryRequest, DeltaDiscoveryResponse> request, String token) {
    super(server, request, token);
  }

  @Override
  Node node(DeltaDiscoveryRequest request) {
    return request.getNode();
  }

  @Override
  void handle(DeltaDiscoveryRequest r, boolean pushNow) {
    String type = r.getTypeUrl();
    if (!served(type)) {
      return;
    }
    Subscription subscription = subscriptions.get(type);
    boolean changed = false;
    if (subscription == null) {
      subscription = new Subscription();
      subscriptions.put(type, subscription);
      // a first request that names nothing asks for everything of the type (the protocol's legacy wildcard)
      subscription.wildcard = r.getResourceNamesSubscribeCount() == 0;
      subscription.known.putAll(r.getInitialResourceVersionsMap());
      changed = true;
    }
    for (String name : r.getResourceNamesSubscribeList()) {
      if (name.equals(WILDCARD)) {
        subscription.wildcard = true;
      } else {
        subscription.names.add(name);
      }
      changed = true;
    }
    for (String name : r.getResourceNamesUnsubscribeList()) {
      if (name.equals(WILDCARD)) {
        subscription.wildcard = false;
      } else {
        subscription.names.remove(name);
      }
      changed = true;
    }
    if (!subscription.wildcard) {
      // what the proxy no longer subscribes to it drops itself; it is sent again if it subscribes again
      subscription.known.keySet().retainAll(subscription.names);
    }
    if (!r.getResponseNonce().isEmpty()) {
      TypeSync sent = types.get(type);
      answered(type, r.getResponseNonce(), sent == null ? "" : sent.sentVersion(),
          r.hasErrorDetail() ? r.getErrorDetail().getMessage() : null);
    }
    if (changed && pushNow) {
      push();
    }
  }

  @Override
  void push() {
    if (snapshot == null) {
      return;
    }
    boolean changed = false;
    for (String type : ProxySnapshot.PUSH_ORDER) {
      Subscription subscription = subscriptions.get(type);
      if (subscription == null) {
        continue;
      }
      EncodedResources.TypeResources resources = snapshot.type(type);
      DeltaDiscoveryResponse.Builder response = DeltaDiscoveryResponse.newBuilder();
      Map<String, String> subscribed = new LinkedHashMap<>();
      resources.byName().forEach((name, encoded) -> {
        if (subscription.wants(name)) {
          subscribed.put(name, encoded.hash());
          if (!encoded.hash().equals(subscription.known.get(name))) {
            response.addResources(encoded.delta());
          }
        }
      });
      List<String> removed = subscription.known.keySet().stream().filter(name -> !resources.byName().containsKey(name)).sorted().toList();
      if (response.getResourcesCount() == 0 && removed.isEmpty()) {
        continue;
      }
      String nonce = server.nextNonce();
      request.response().write(response.setTypeUrl(type).setSystemVersionInfo(resources.version()).addAllRemovedResources(removed)
          .setNonce(nonce).setControlPlane(ControlPlane.newBuilder().setIdentifier(AdsServer.IDENTIFIER)).build());
      response.getResourcesList().forEach(resource -> subscription.known.put(resource.getName(), resource.getVersion()));
      removed.forEach(subscription.known::remove);
      sent(type, resources.version(), nonce, subscribed);
      LOG.debug("sent {} {} version {}: {} resources, {} removed", proxy, shortType(type), resources.version(),
          response.getResourcesCount(), removed.size());
      changed = true;
    }
    if (changed) {
      publish();
    }
  }
}
