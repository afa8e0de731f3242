package io.vmesh.operator.install;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The structural part of a CRD's openAPIV3Schema the API server enforces on an object: types, enums,
 * required fields, unknown fields (pruned or rejected), numeric bounds. CEL rules are CelRules' job.
 */
public final class CrdSchema {

  private CrdSchema() {
  }

  public static JSONSchemaProps schemaOf(CustomResourceDefinition crd, String version) {
    return crd.getSpec().getVersions().stream().filter(v -> v.getName().equals(version)).findFirst()
        .map(v -> v.getSchema().getOpenAPIV3Schema()).orElse(null);
  }

  /** Violations of an object (a parsed JSON/YAML map) against the CRD's schema; apiVersion, kind, metadata are the server's. */
  public static List<String> violations(JSONSchemaProps schema, Map<String, Object> object) {
    List<String> found = new ArrayList<>();
    for (Map.Entry<String, Object> field : object.entrySet()) {
      if (!List.of("apiVersion", "kind", "metadata").contains(field.getKey())) {
        check(schema.getProperties().get(field.getKey()), field.getValue(), field.getKey(), found);
      }
    }
    return found;
  }

  @SuppressWarnings("unchecked")
  private static void check(JSONSchemaProps schema, Object value, String path, List<String> found) {
    if (schema == null) {
      found.add(path + ": unknown field");
      return;
    }
    if (Boolean.TRUE.equals(schema.getXKubernetesIntOrString())) {
      if (!(value instanceof Number || value instanceof String)) {
        found.add(path + ": must be an integer or a string");
      }
      return;
    }
    String type = schema.getType() == null ? "" : schema.getType();
    switch (type) {
      case "object" -> {
        if (!(value instanceof Map<?, ?> map)) {
          found.add(path + ": must be an object");
          return;
        }
        if (schema.getRequired() != null) {
          schema.getRequired().stream().filter(r -> !map.containsKey(r)).forEach(r -> found.add(path + "." + r + ": required"));
        }
        for (Map.Entry<String, Object> field : ((Map<String, Object>) map).entrySet()) {
          JSONSchemaProps child = schema.getProperties() == null ? null : schema.getProperties().get(field.getKey());
          if (child == null && schema.getAdditionalProperties() != null) {
            child = schema.getAdditionalProperties().getSchema();
          }
          if (child == null && Boolean.TRUE.equals(schema.getXKubernetesPreserveUnknownFields())) {
            continue;
          }
          check(child, field.getValue(), path + "." + field.getKey(), found);
        }
      }
      case "array" -> {
        if (!(value instanceof List<?> list)) {
          found.add(path + ": must be an array");
          return;
        }
        for (int i = 0; i < list.size(); i++) {
          check(schema.getItems().getSchema(), list.get(i), path + "[" + i + "]", found);
        }
      }
      case "string" -> {
        if (!(value instanceof String)) {
          found.add(path + ": must be a string");
        }
      }
      case "integer" -> {
        if (!(value instanceof Integer || value instanceof Long)) {
          found.add(path + ": must be an integer");
        }
      }
      case "number" -> {
        if (!(value instanceof Number)) {
          found.add(path + ": must be a number");
        }
      }
      case "boolean" -> {
        if (!(value instanceof Boolean)) {
          found.add(path + ": must be a boolean");
        }
      }
      default -> found.add(path + ": the schema has no type, which a structural CRD must give");
    }
    if (schema.getEnum() != null && !schema.getEnum().isEmpty()
        && schema.getEnum().stream().noneMatch(e -> InstallManifests.SERIALIZATION.convertValue(e, Object.class).equals(value))) {
      found.add(path + ": " + value + " is not one of the enum values");
    }
    if (value instanceof Number n && schema.getMinimum() != null && n.doubleValue() < schema.getMinimum()) {
      found.add(path + ": below the minimum " + schema.getMinimum());
    }
    if (value instanceof Number n && schema.getMaximum() != null && n.doubleValue() > schema.getMaximum()) {
      found.add(path + ": above the maximum " + schema.getMaximum());
    }
  }

  /** Whether a dotted descriptor path (spec or status) names a field of the schema. */
  static boolean hasPath(JSONSchemaProps root, String section, String path) {
    JSONSchemaProps node = root.getProperties().get(section);
    for (String part : path.split("\\.")) {
      if (node == null) {
        return false;
      }
      if ("array".equals(node.getType())) {
        node = node.getItems().getSchema();
      }
      node = node.getProperties() == null ? null : node.getProperties().get(part);
    }
    return node != null;
  }
}
