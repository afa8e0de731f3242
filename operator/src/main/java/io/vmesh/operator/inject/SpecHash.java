package io.vmesh.operator.inject;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.vmesh.operator.api.TrafficCaptureSpec;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The hash of a TrafficCapture spec that the webhook records on each pod it injects and the reconciler
 * compares to find pods injected from an older spec. Canonical JSON (sorted keys, no nulls, defaults
 * filled in by the Java model) so that field order and omitted defaults do not change it.
 */
public final class SpecHash {

  private static final ObjectMapper CANONICAL = JsonMapper.builder()
      .configure(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY, true)
      .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true)
      .serializationInclusion(JsonInclude.Include.NON_NULL)
      .build();

  private SpecHash() {
  }

  /** First 16 hex digits of the SHA-256 of the canonical JSON of the spec (a null spec hashes like an empty one). */
  public static String of(TrafficCaptureSpec spec) {
    try {
      byte[] json = CANONICAL.writeValueAsBytes(spec == null ? new TrafficCaptureSpec() : spec);
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(json);
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (JsonProcessingException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot hash TrafficCapture spec", e);
    }
  }
}
