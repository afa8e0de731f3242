package io.vmesh.apiserver.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads the one protobuf body this server must understand: kubectl's typed {@code create token} posts its
 * TokenRequest as {@code application/vnd.kubernetes.protobuf} (the {@code k8s\0} envelope around a
 * {@code runtime.Unknown}) and gets a JSON answer back, which client-go accepts. Field numbers are those of
 * {@code k8s.io/api/authentication/v1/generated.proto}; everything else in the message is skipped.
 */
public final class ProtobufTokenRequest {

  private static final byte[] MAGIC = {'k', '8', 's', 0};
  private static final ObjectMapper JSON = new ObjectMapper();

  private ProtobufTokenRequest() {
  }

  /** The TokenRequest as the JSON object a JSON client would have sent; throws naming what is malformed. */
  public static ObjectNode decode(byte[] body) {
    if (body.length < MAGIC.length || body[0] != MAGIC[0] || body[1] != MAGIC[1] || body[2] != MAGIC[2] || body[3] != MAGIC[3]) {
      throw new IllegalArgumentException("protobuf body without the k8s\\0 envelope");
    }
    ByteBuffer unknown = ByteBuffer.wrap(body, MAGIC.length, body.length - MAGIC.length);
    ByteBuffer raw = null;
    while (unknown.hasRemaining()) {
      long tag = varint(unknown);
      if (tag >>> 3 == 2 && (tag & 7) == 2) {
        raw = lengthDelimited(unknown);
      } else {
        skip(unknown, tag);
      }
    }
    if (raw == null) {
      throw new IllegalArgumentException("protobuf envelope without an object (runtime.Unknown.raw)");
    }
    ObjectNode request = JSON.createObjectNode().put("apiVersion", "authentication.k8s.io/v1").put("kind", "TokenRequest");
    ObjectNode spec = request.putObject("spec");
    while (raw.hasRemaining()) {
      long tag = varint(raw);
      if (tag >>> 3 == 2 && (tag & 7) == 2) {
        readSpec(lengthDelimited(raw), spec);
      } else {
        skip(raw, tag);
      }
    }
    return request;
  }

  private static void readSpec(ByteBuffer in, ObjectNode spec) {
    var audiences = spec.putArray("audiences");
    while (in.hasRemaining()) {
      long tag = varint(in);
      int field = (int) (tag >>> 3);
      if (field == 1 && (tag & 7) == 2) {
        audiences.add(string(lengthDelimited(in)));
      } else if (field == 3 && (tag & 7) == 2) {
        ObjectNode ref = spec.putObject("boundObjectRef");
        ByteBuffer r = lengthDelimited(in);
        while (r.hasRemaining()) {
          long t = varint(r);
          String[] names = {null, "kind", "apiVersion", "name", "uid"};
          int f = (int) (t >>> 3);
          if (f >= 1 && f <= 4 && (t & 7) == 2) {
            ref.put(names[f], string(lengthDelimited(r)));
          } else {
            skip(r, t);
          }
        }
      } else if (field == 4 && (tag & 7) == 0) {
        spec.put("expirationSeconds", varint(in));
      } else {
        skip(in, tag);
      }
    }
  }

  private static long varint(ByteBuffer in) {
    long value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!in.hasRemaining()) {
        throw new IllegalArgumentException("truncated protobuf varint");
      }
      byte b = in.get();
      value |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return value;
      }
    }
    throw new IllegalArgumentException("protobuf varint longer than 10 bytes");
  }

  private static ByteBuffer lengthDelimited(ByteBuffer in) {
    long length = varint(in);
    if (length < 0 || length > in.remaining()) {
      throw new IllegalArgumentException("protobuf field length " + length + " exceeds the " + in.remaining() + " bytes left");
    }
    ByteBuffer slice = in.slice(in.position(), (int) length);
    in.position(in.position() + (int) length);
    return slice;
  }

  private static void skip(ByteBuffer in, long tag) {
    switch ((int) (tag & 7)) {
      case 0 -> varint(in);
      case 1 -> in.position(in.position() + 8);
      case 2 -> lengthDelimited(in);
      case 5 -> in.position(in.position() + 4);
      default -> throw new IllegalArgumentException("unsupported protobuf wire type " + (tag & 7));
    }
  }

  private static String string(ByteBuffer in) {
    byte[] bytes = new byte[in.remaining()];
    in.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
