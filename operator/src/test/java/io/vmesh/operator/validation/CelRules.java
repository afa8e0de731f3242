package io.vmesh.operator.validation;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.vmesh.operator.crd.CrdManifests;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a CRD's {@code x-kubernetes-validations} the way the API server does: each rule at the schema node that
 * declares it, with {@code self} bound to the object's value there (the embedded API server runs no CEL).
 */
final class CelRules {

  private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
      .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
      .addVar("self", SimpleType.DYN)
      .build();
  private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().build();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** A rule and where the CRD declares it. */
  record Rule(String path, String expression, String message) {
  }

  private final JSONSchemaProps schema;

  CelRules(String crdFile) {
    CustomResourceDefinition crd = Serialization.unmarshal(CrdManifests.load().get(crdFile), CustomResourceDefinition.class);
    schema = crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema();
  }

  List<Rule> rules() {
    List<Rule> rules = new ArrayList<>();
    collect("", schema, rules);
    return rules;
  }

  /** Messages of the rules the object (YAML or JSON) breaks. */
  List<String> violations(String object) throws Exception {
    List<String> messages = new ArrayList<>();
    evaluate(schema, longs(YAML.readValue(object, Object.class)), messages);
    return messages;
  }

  /** Reads a flow-style YAML object into a model class, as the reconciler would receive it. */
  static <T> T parse(String object, Class<T> type) throws java.io.IOException {
    return YAML.readValue(object, type);
  }

  /** Parses and type-checks the expression; throws with CEL's message when it does not compile. */
  static void compile(String expression) throws CelValidationException {
    COMPILER.compile(expression).getAst();
  }

  static boolean holds(String expression, Object self) throws CelValidationException, CelEvaluationException {
    CelAbstractSyntaxTree ast = COMPILER.compile(expression).getAst();
    return (Boolean) RUNTIME.createProgram(ast).eval(Map.of("self", self));
  }

  private static void collect(String path, JSONSchemaProps node, List<Rule> rules) {
    if (node == null) {
      return;
    }
    if (node.getXKubernetesValidations() != null) {
      for (ValidationRule rule : node.getXKubernetesValidations()) {
        rules.add(new Rule(path, rule.getRule(), rule.getMessage()));
      }
    }
    if (node.getProperties() != null) {
      node.getProperties().forEach((name, child) -> collect(path + "." + name, child, rules));
    }
    if (node.getItems() != null) {
      collect(path + "[]", node.getItems().getSchema(), rules);
    }
  }

  @SuppressWarnings("unchecked")
  private static void evaluate(JSONSchemaProps node, Object value, List<String> messages) throws Exception {
    if (node == null || value == null) {
      return;
    }
    if (node.getXKubernetesValidations() != null) {
      for (ValidationRule rule : node.getXKubernetesValidations()) {
        if (!holds(rule.getRule(), value)) {
          messages.add(rule.getMessage());
        }
      }
    }
    if (value instanceof Map<?, ?> map && node.getProperties() != null) {
      for (Map.Entry<String, JSONSchemaProps> property : node.getProperties().entrySet()) {
        evaluate(property.getValue(), ((Map<String, Object>) map).get(property.getKey()), messages);
      }
    }
    if (value instanceof List<?> list && node.getItems() != null) {
      for (Object item : list) {
        evaluate(node.getItems().getSchema(), item, messages);
      }
    }
  }

  /** CEL's int is 64 bits: hand it Longs, as the API server does. */
  static Object longs(Object value) {
    if (value instanceof Integer i) {
      return i.longValue();
    }
    if (value instanceof Map<?, ?> map) {
      Map<Object, Object> copy = new LinkedHashMap<>();
      map.forEach((k, v) -> copy.put(k, longs(v)));
      return copy;
    }
    if (value instanceof List<?> list) {
      return list.stream().map(CelRules::longs).toList();
    }
    return value;
  }
}
