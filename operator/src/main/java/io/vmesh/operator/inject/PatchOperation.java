package io.vmesh.operator.inject;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/** One RFC 6902 operation; {@code value} is any object Jackson serialises (fabric8 model objects included). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"op", "path", "value"})
public record PatchOperation(String op, String path, Object value) {

  public static PatchOperation add(String path, Object value) {
    return new PatchOperation("add", path, value);
  }

  public static PatchOperation remove(String path) {
    return new PatchOperation("remove", path, null);
  }

  /** RFC 6901 escaping of one path segment ({@code vmesh.io/status} → {@code vmesh.io~1status}). */
  public static String escape(String segment) {
    return segment.replace("~", "~0").replace("/", "~1");
  }
}
