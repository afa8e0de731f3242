package io.vmesh.operator.xds;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.ControlPlane;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What every stream shares, the way istiod caches per push: each distinct resource (by content) is serialized and
 * hashed once, each distinct content of a type (by version) becomes one {@link TypeResources} whose response body is
 * encoded once, however many proxies it goes to. The generator hands all proxies the same message instances for what
 * they share, and protobuf memoizes a message's hash, so a lookup costs a hash probe and an identity check.
 *
 * <p>Two generations are kept ({@link #nextGeneration()} after each change batch): what the latest batches used stays
 * encoded across a rebuild, what no batch asks for any more is let go.
 */
final class EncodedResources {

  /** One serialized resource: packed for SotW, wrapped for delta, and its content hash (16 hex digits). */
  record Encoded(String name, Any any, String hash, Resource delta, long digest) {
  }

  /**
   * One type's resources for one or more proxies: the {@code version_info} (a hash of the resources' contents, so the
   * same config always has the same version), the resources by name in order, and the SotW response without its nonce.
   */
  static final class TypeResources {
    private final String typeUrl;
    private final String version;
    private final Map<String, Encoded> byName;
    private final Map<String, String> hashes;
    private volatile Buffer sotwBody;

    TypeResources(String typeUrl, String version, Map<String, Encoded> byName) {
      this.typeUrl = typeUrl;
      this.version = version;
      this.byName = java.util.Collections.unmodifiableMap(byName);
      Map<String, String> h = new LinkedHashMap<>();
      byName.forEach((name, e) -> h.put(name, e.hash()));
      // Map.copyOf once, so every TypeSync's Map.copyOf of it is the same instance, not a copy per stream and push
      this.hashes = Map.copyOf(h);
    }

    String version() {
      return version;
    }

    Map<String, Encoded> byName() {
      return byName;
    }

    /** Resource name → content hash. */
    Map<String, String> hashes() {
      return hashes;
    }

    List<Any> resources() {
      return byName.values().stream().map(Encoded::any).toList();
    }

    /**
     * The state-of-the-world response for this content without its nonce, serialized once for every stream it goes
     * to; {@link #sotwResponse} appends the stream's nonce (protobuf fields may come in any order on the wire).
     */
    Buffer sotwBody() {
      Buffer body = sotwBody;
      if (body == null) {
        DiscoveryResponse.Builder response = DiscoveryResponse.newBuilder().setVersionInfo(version).setTypeUrl(typeUrl)
            .setControlPlane(ControlPlane.newBuilder().setIdentifier(AdsServer.IDENTIFIER));
        byName.values().forEach(e -> response.addResources(e.any()));
        body = Buffer.buffer(serialize(response.build()));
        sotwBody = body;
      }
      return body;
    }

    Buffer sotwResponse(String nonce) {
      Buffer body = sotwBody();
      byte[] tail = DiscoveryResponse.newBuilder().setNonce(nonce).build().toByteArray();
      return Buffer.buffer(body.length() + tail.length).appendBuffer(body).appendBytes(tail);
    }
  }

  private final Object lock = new Object();
  private volatile Map<Message, Encoded> resources = new ConcurrentHashMap<>();
  private volatile Map<Message, Encoded> olderResources = Map.of();
  private volatile Map<String, TypeResources> types = new ConcurrentHashMap<>();
  private volatile Map<String, TypeResources> olderTypes = Map.of();

  /** Starts a new generation: what was used before stays reachable for one more, then is dropped. */
  void nextGeneration() {
    synchronized (lock) {
      olderResources = resources;
      resources = new ConcurrentHashMap<>();
      olderTypes = types;
      types = new ConcurrentHashMap<>();
    }
  }

  /** The type's resources as the given proxy's snapshot has them, shared with every proxy that has the same. */
  TypeResources type(String typeUrl, List<? extends Message> messages) {
    Map<String, Encoded> byName = new LinkedHashMap<>();
    long[] digests = new long[messages.size()];
    for (int i = 0; i < messages.size(); i++) {
      Encoded e = encode(typeUrl, messages.get(i));
      if (byName.put(e.name(), e) != null) {
        throw new IllegalArgumentException("two " + AdsStream.shortType(typeUrl) + " resources named '" + e.name() + "'");
      }
      digests[i] = e.digest();
    }
    MessageDigest version = sha256();
    ByteBuffer b = ByteBuffer.allocate(8);
    for (long d : digests) {
      version.update(b.clear().putLong(d).array());
    }
    String key = typeUrl + " " + hex(version.digest(), 8);
    String v = key.substring(typeUrl.length() + 1);
    TypeResources known = types.get(key);
    if (known == null) {
      known = olderTypes.get(key);
      if (known == null) {
        known = new TypeResources(typeUrl, v, byName);
      }
      TypeResources raced = types.putIfAbsent(key, known);
      known = raced == null ? known : raced;
    }
    return known;
  }

  private Encoded encode(String typeUrl, Message resource) {
    Encoded e = resources.get(resource);
    if (e == null) {
      e = olderResources.get(resource);
      if (e == null) {
        byte[] bytes = serialize(resource);
        String name = VersionedSnapshot.name(resource);
        byte[] digest = sha256().digest(bytes);
        Any any = Any.newBuilder().setTypeUrl(typeUrl).setValue(ByteString.copyFrom(bytes)).build();
        String hash = hex(digest, 8);
        e = new Encoded(name, any, hash, Resource.newBuilder().setName(name).setVersion(hash).setResource(any).build(),
            ByteBuffer.wrap(digest).getLong());
      }
      resources.putIfAbsent(resource, e);
    }
    return e;
  }

  /** Map fields (metadata, typed_per_filter_config) serialize in any order unless asked not to. */
  static byte[] serialize(Message message) {
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
