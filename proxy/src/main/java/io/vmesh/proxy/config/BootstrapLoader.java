package io.vmesh.proxy.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads Envoy's {@code Bootstrap} from YAML or JSON (protobuf's JSON mapping, {@code typed_config}
 * with {@code @type}), and refuses it, naming the field, when it has a field that does not exist,
 * a type vmesh-proxy does not know, or a field vmesh-proxy does not implement.
 */
public final class BootstrapLoader {

  // a key given twice would otherwise keep the last value and drop the first without a word
  private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private BootstrapLoader() {
  }

  /** Loads a file; YAML unless it is named {@code *.json} or starts with a brace. */
  public static Bootstrap load(Path file) throws ConfigException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException("", "cannot read " + file + ": " + e);
    }
    boolean json = file.getFileName().toString().endsWith(".json") || text.stripLeading().startsWith("{");
    return parse(text, json);
  }

  /** Parses and checks the text against the supported subset; semantic checks come with {@code RuntimeConfig}. */
  public static Bootstrap parse(String text, boolean json) throws ConfigException {
    JsonNode tree;
    try {
      tree = (json ? JSON : YAML).readTree(text);
    } catch (JsonProcessingException e) {
      throw new ConfigException("", "not valid " + (json ? "JSON" : "YAML") + ": " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()));
    }
    if (tree == null || !tree.isObject()) {
      throw new ConfigException("", "a bootstrap must be a " + (json ? "JSON" : "YAML") + " object");
    }
    List<String> problems = new ArrayList<>();
    checkNames(tree, Bootstrap.getDescriptor(), "", problems);
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    // parsed into a DynamicMessage, then turned into the generated class by its bytes: JsonFormat on a generated
    // builder goes through its reflective accessors, which load most of Envoy's message classes and thousands
    // of Methods that stay on the heap
    DynamicMessage.Builder builder = DynamicMessage.newBuilder(Bootstrap.getDescriptor());
    try {
      JsonFormat.parser().usingTypeRegistry(SupportedFields.typeRegistry()).merge(JSON.writeValueAsString(tree), builder);
    } catch (InvalidProtocolBufferException | JsonProcessingException e) {
      throw new ConfigException("", "not a valid envoy.config.bootstrap.v3.Bootstrap: " + e.getMessage());
    }
    DynamicMessage parsed = builder.build();
    SupportedFields.check(parsed, "");
    try {
      return Bootstrap.parseFrom(parsed.toByteString());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a serialized Bootstrap does not parse back", e);
    }
  }

  /**
   * Finds field names that the message does not have, before protobuf's parser does (which would not
   * say where), so the error carries the path.
   */
  private static void checkNames(JsonNode node, Descriptor type, String path, List<String> problems) {
    if (!node.isObject()) {
      return;
    }
    if (type.getFullName().equals(Any.getDescriptor().getFullName())) {
      JsonNode url = node.get("@type");
      if (url == null || !url.isTextual()) {
        problems.add(ConfigException.at(path, "a typed_config needs an \"@type\""));
      } else {
        Optional<Descriptor> inner = SupportedFields.typedConfigType(url.asText());
        if (inner.isEmpty()) {
          problems.add(ConfigException.at(path, "typed_config type " + url.asText() + " is not supported by vmesh-proxy"));
        } else {
          checkFields(node, inner.get(), path, problems);
        }
      }
      return;
    }
    if (type.getFullName().startsWith("google.protobuf.")) {
      return;
    }
    checkFields(node, type, path, problems);
  }

  private static void checkFields(JsonNode node, Descriptor type, String path, List<String> problems) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("@type")) {
        continue;
      }
      FieldDescriptor field = field(type, e.getKey());
      String fieldPath = (path.isEmpty() ? "" : path + ".") + (field == null ? e.getKey() : field.getName());
      if (field == null) {
        problems.add(ConfigException.at(fieldPath, "no such field in " + type.getFullName()));
        continue;
      }
      if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE || field.isMapField()) {
        continue;
      }
      if (field.isRepeated() && e.getValue().isArray()) {
        for (int i = 0; i < e.getValue().size(); i++) {
          checkNames(e.getValue().get(i), field.getMessageType(), fieldPath + "[" + i + "]", problems);
        }
      } else {
        checkNames(e.getValue(), field.getMessageType(), fieldPath, problems);
      }
    }
  }

  private static FieldDescriptor field(Descriptor type, String name) {
    FieldDescriptor byName = type.findFieldByName(name);
    if (byName != null) {
      return byName;
    }
    for (FieldDescriptor f : type.getFields()) {
      if (f.getJsonName().equals(name)) {
        return f;
      }
    }
    return null;
  }
}
