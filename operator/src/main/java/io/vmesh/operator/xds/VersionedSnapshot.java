package io.vmesh.operator.xds;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link ProxySnapshot} ready to stream: per type, the resources serialized, each resource's content hash and the
 * type's {@code version_info} (a hash of the contents, so the same config always has the same version and an unchanged
 * type is never re-sent). The serialized forms come from {@link EncodedResources}, shared with every proxy that has
 * the same resources. Built off the event loops.
 */
final class VersionedSnapshot {

  private final Map<String, EncodedResources.TypeResources> types = new LinkedHashMap<>();

  VersionedSnapshot(ProxySnapshot snapshot, EncodedResources encoded) {
    for (String type : ProxySnapshot.PUSH_ORDER) {
      types.put(type, encoded.type(type, snapshot.resources(type)));
    }
  }

  EncodedResources.TypeResources type(String typeUrl) {
    return types.get(typeUrl);
  }

  static String name(Message resource) {
    if (resource instanceof Cluster c) {
      return c.getName();
    }
    if (resource instanceof ClusterLoadAssignment a) {
      return a.getClusterName();
    }
    if (resource instanceof Listener l) {
      return l.getName();
    }
    if (resource instanceof RouteConfiguration r) {
      return r.getName();
    }
    throw new IllegalArgumentException("not an xDS resource vmesh serves: " + resource.getDescriptorForType().getFullName());
  }
}
