package io.vmesh.operator.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.vmesh.operator.api.TrafficCapture;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Reads multi-document YAML into the kinds injection understands, and writes objects back as YAML. */
public final class Manifests {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final YAMLMapper WRITER = YAMLMapper.builder()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
      .build();

  private Manifests() {
  }

  /** Every document of the text, typed by its kind; {@code source} names the text in errors. */
  public static List<HasMetadata> read(String yaml, String source) {
    return read(yaml, source, kind -> "TrafficCapture".equals(kind) ? TrafficCapture.class : WorkloadInjection.KINDS.get(kind),
        "is not injectable; supported: " + new java.util.TreeSet<>(WorkloadInjection.KINDS.keySet()) + " and TrafficCapture");
  }

  /**
   * Every document of the text, typed by {@code kinds} (null for a kind it does not take, refused with
   * {@code refusal}); {@code source} names the text in errors.
   */
  public static List<HasMetadata> read(String yaml, String source, Function<String, Class<? extends HasMetadata>> kinds,
      String refusal) {
    List<HasMetadata> objects = new ArrayList<>();
    int index = 0;
    try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(yaml)) {
      while (docs.hasNext()) {
        JsonNode doc = docs.next();
        index++;
        if (doc == null || doc.isNull() || doc.isEmpty()) {
          continue;
        }
        String kind = doc.path("kind").asText("");
        Class<? extends HasMetadata> type = kinds.apply(kind);
        if (type == null) {
          throw new IllegalArgumentException(source + ", document " + index + ": kind '" + kind + "' " + refusal);
        }
        if (!doc.path("metadata").hasNonNull("name")) {
          throw new IllegalArgumentException(source + ", document " + index + ": " + kind + " has no metadata.name");
        }
        objects.add(Serialization.jsonMapper().convertValue(doc, type));
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException iae && iae.getMessage() != null && iae.getMessage().startsWith(source)) {
        throw iae;
      }
      throw new IllegalArgumentException(source + ", document " + (index + 1) + ": not a Kubernetes object: " + e.getMessage(), e);
    }
    return objects;
  }

  /** YAML of an object, with Kubernetes' key order (fabric8's model order) and no document marker. */
  public static String yaml(Object object) {
    try {
      return WRITER.writeValueAsString(Serialization.jsonMapper().valueToTree(object));
    } catch (IOException e) {
      throw new IllegalStateException("cannot write YAML of " + object, e);
    }
  }
}
