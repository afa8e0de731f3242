package io.vmesh.proxy.config;

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
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads Envoy's {@code Bootstrap} from YAML or JSON (protobuf's JSON mapping, {@code typed_config}
 * with {@code @type}), and refuses it, naming the field, when it has a field that does not exist,
 * a type vmesh-proxy does not know, or a field vmesh-proxy does not implement.
 */
public final class BootstrapLoader {

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
    Object tree = json ? ConfigText.readJson(text) : ConfigText.readYaml(text);
    if (!(tree instanceof Map)) {
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
      JsonFormat.parser().usingTypeRegistry(SupportedFields.typeRegistry()).merge(ConfigText.toJson(tree), builder);
    } catch (InvalidProtocolBufferException e) {
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
  private static void checkNames(Object node, Descriptor type, String path, List<String> problems) {
    if (!(node instanceof Map<?, ?> object)) {
      return;
    }
    if (type.getFullName().equals(Any.getDescriptor().getFullName())) {
      if (!(object.get("@type") instanceof ConfigText.Scalar url) || url.kind() != ConfigText.Scalar.Kind.STRING) {
        problems.add(ConfigException.at(path, "a typed_config needs an \"@type\""));
      } else {
        Optional<Descriptor> inner = SupportedFields.typedConfigType(url.text());
        if (inner.isEmpty()) {
          problems.add(ConfigException.at(path, "typed_config type " + url.text() + " is not supported by vmesh-proxy"));
        } else {
          checkFields(object, inner.get(), path, problems);
        }
      }
      return;
    }
    if (type.getFullName().startsWith("google.protobuf.")) {
      return;
    }
    checkFields(object, type, path, problems);
  }

  private static void checkFields(Map<?, ?> node, Descriptor type, String path, List<String> problems) {
    for (Map.Entry<?, ?> e : node.entrySet()) {
      if (e.getKey().equals("@type")) {
        continue;
      }
      FieldDescriptor field = field(type, (String) e.getKey());
      String fieldPath = (path.isEmpty() ? "" : path + ".") + (field == null ? e.getKey() : field.getName());
      if (field == null) {
        problems.add(ConfigException.at(fieldPath, "no such field in " + type.getFullName()));
        continue;
      }
      if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE || field.isMapField()) {
        continue;
      }
      if (field.isRepeated() && e.getValue() instanceof List<?> items) {
        for (int i = 0; i < items.size(); i++) {
          checkNames(items.get(i), field.getMessageType(), fieldPath + "[" + i + "]", problems);
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
