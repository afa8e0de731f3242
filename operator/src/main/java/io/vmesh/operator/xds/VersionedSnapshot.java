package io.vmesh.operator.xds;

import com.google.protobuf.Any;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link ProxySnapshot} ready to stream: per type, the resources packed in {@code Any}, each resource's content hash
 * and the type's {@code version_info} (a hash of names and contents, so the same config always has the same version and
 * an unchanged type is never re-sent). Built off the event loops.
 */
final class VersionedSnapshot {

  record TypeResources(String version, List<Any> resources, Map<String, String> hashes) {
  }

  private final Map<String, TypeResources> types = new LinkedHashMap<>();

  VersionedSnapshot(ProxySnapshot snapshot) {
    for (String type : ProxySnapshot.PUSH_ORDER) {
      List<Any> packed = new ArrayList<>();
      Map<String, String> hashes = new LinkedHashMap<>();
      MessageDigest version = sha256();
      for (Message resource : snapshot.resources(type)) {
        byte[] bytes = deterministic(resource);
        String name = name(resource);
        if (hashes.put(name, hex(sha256().digest(bytes), 8)) != null) {
          throw new IllegalArgumentException("two " + type.substring(type.lastIndexOf('.') + 1) + " resources named '" + name + "'");
        }
        packed.add(Any.newBuilder().setTypeUrl(type).setValue(com.google.protobuf.ByteString.copyFrom(bytes)).build());
        version.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        version.update((byte) 0);
        version.update(bytes);
      }
      types.put(type, new TypeResources(hex(version.digest(), 8), List.copyOf(packed), hashes));
    }
  }

  TypeResources type(String typeUrl) {
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

  /** Map fields (metadata, typed_per_filter_config) serialize in any order unless asked not to. */
  private static byte[] deterministic(Message message) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(message.getSerializedSize());
      CodedOutputStream coded = CodedOutputStream.newInstance(out);
      coded.useDeterministicSerialization();
      message.writeTo(coded);
      coded.flush();
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(byte[] digest, int bytes) {
    return HexFormat.of().formatHex(digest, 0, bytes);
  }
}
