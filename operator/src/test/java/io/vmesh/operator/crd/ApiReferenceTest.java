package io.vmesh.operator.crd;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/api.md never drifts from the CRDs: its "Field reference" blocks are generated here from the schemas in
 * {@code crds/} (every field: type, default, rules, description), and every field its hand-written tables name must
 * exist in the schema. Rewrite the blocks with {@code -Dvmesh.docs.write=true}.
 */
class ApiReferenceTest {

  private static final Path REPO = Path.of(System.getProperty("vmesh.repo.dir", ".."));
  private static final Path DOC = REPO.resolve("docs/api.md");
  private static final List<String> CRDS = List.of("trafficcaptures.vmesh.io", "meshpolicies.vmesh.io");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern TABLE_FIELD = Pattern.compile("^\\| `((?:spec|status)\\.[^`]+)`", Pattern.MULTILINE);

  @Test
  void theFieldReferenceBlocksAreGeneratedFromTheCrds() throws IOException {
    String doc = Files.readString(DOC, StandardCharsets.UTF_8);
    String expected = doc;
    for (String crd : CRDS) {
      expected = replaceBlock(expected, crd, reference(schema(crd)));
    }
    if (Boolean.getBoolean("vmesh.docs.write")) {
      Files.writeString(DOC, expected, StandardCharsets.UTF_8);
      doc = expected;
    }
    assertThat(doc).as("docs/api.md is stale: run this test with -Dvmesh.docs.write=true").isEqualTo(expected);
  }

  @Test
  void everyFieldTheHandWrittenTablesNameExists() throws IOException {
    String doc = Files.readString(DOC, StandardCharsets.UTF_8);
    Set<String> known = new LinkedHashSet<>();
    for (String crd : CRDS) {
      fields(schema(crd), "", known::add);
    }
    String handWritten = doc;
    for (String crd : CRDS) {
      handWritten = replaceBlock(handWritten, crd, "");
    }
    List<String> unknown = new ArrayList<>();
    Matcher m = TABLE_FIELD.matcher(handWritten);
    while (m.find()) {
      for (String field : m.group(1).split("` / `")) {
        // "status.proxies.synced` / `stale`" names siblings of the first field
        String path = field.contains(".") ? field : m.group(1).substring(0, m.group(1).lastIndexOf('.') + 1) + field;
        if (!known.contains(path)) {
          unknown.add(path);
        }
      }
    }
    assertThat(unknown).as("fields named in docs/api.md that no CRD has").isEmpty();
  }

  private static JsonNode schema(String crd) throws IOException {
    JsonNode doc = YAML.readTree(REPO.resolve("crds").resolve(crd + ".yaml").toFile());
    return doc.path("spec").path("versions").get(0).path("schema").path("openAPIV3Schema");
  }

  private static String replaceBlock(String doc, String crd, String body) {
    String begin = "<!-- BEGIN GENERATED " + crd + " -->";
    String end = "<!-- END GENERATED " + crd + " -->";
    int a = doc.indexOf(begin);
    int b = doc.indexOf(end);
    assertThat(a).as("docs/api.md has the marker %s", begin).isGreaterThanOrEqualTo(0);
    assertThat(b).as("docs/api.md has the marker %s", end).isGreaterThan(a);
    return doc.substring(0, a + begin.length()) + "\n" + body + doc.substring(b);
  }

  static String reference(JsonNode root) {
    StringBuilder out = new StringBuilder();
    out.append("| field | type | default | required | rules | description |\n| --- | --- | --- | --- | --- | --- |\n");
    walk(root, "", false, out);
    return out.toString();
  }

  private static void fields(JsonNode node, String path, java.util.function.Consumer<String> sink) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.path("properties").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String p = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
      sink.accept(p);
      JsonNode child = e.getValue();
      if ("array".equals(child.path("type").asText())) {
        sink.accept(p + "[]");
        fields(child.path("items"), p + "[]", sink);
      } else {
        fields(child, p, sink);
      }
    }
  }

  private static void walk(JsonNode node, String path, boolean requiredHere, StringBuilder out) {
    Set<String> required = new LinkedHashSet<>();
    node.path("required").forEach(r -> required.add(r.asText()));
    for (Iterator<Map.Entry<String, JsonNode>> it = node.path("properties").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String p = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
      JsonNode child = e.getValue();
      row(p, child, required.contains(e.getKey()), out);
      if ("array".equals(child.path("type").asText())) {
        JsonNode items = child.path("items");
        if (items.has("properties")) {
          walk(items, p + "[]", false, out);
        }
      } else {
        walk(child, p, false, out);
      }
    }
  }

  private static void row(String path, JsonNode s, boolean required, StringBuilder out) {
    String type = type(s);
    String def = s.has("default") ? "`" + compact(s.get("default")) + "`" : "";
    List<String> rules = new ArrayList<>();
    constraints(s, rules, "");
    if ("array".equals(s.path("type").asText())) {
      constraints(s.path("items"), rules, "each ");
    }
    for (JsonNode v : s.path("x-kubernetes-validations")) {
      rules.add(v.path("message").asText());
    }
    out.append("| `").append(path).append("` | ").append(type).append(" | ").append(def).append(" | ")
        .append(required ? "yes" : "").append(" | ").append(escape(String.join("; ", rules))).append(" | ")
        .append(escape(s.path("description").asText(""))).append(" |\n");
  }

  private static String type(JsonNode s) {
    if (s.path("x-kubernetes-int-or-string").asBoolean(false)) {
      return "int or string";
    }
    String t = s.path("type").asText("object");
    if ("array".equals(t)) {
      return "list of " + type(s.path("items"));
    }
    if ("object".equals(t) && s.has("additionalProperties")) {
      return "map of " + type(s.path("additionalProperties"));
    }
    return t;
  }

  private static void constraints(JsonNode s, List<String> rules, String prefix) {
    if (s.has("enum")) {
      List<String> values = new ArrayList<>();
      s.get("enum").forEach(v -> values.add("`" + v.asText() + "`"));
      rules.add(prefix + "one of " + String.join(", ", values));
    }
    if (s.has("minimum")) {
      rules.add(prefix + "≥ " + number(s.get("minimum")));
    }
    if (s.has("maximum")) {
      rules.add(prefix + "≤ " + number(s.get("maximum")));
    }
    if (s.has("minItems")) {
      rules.add("at least " + s.get("minItems").asText() + " item(s)");
    }
    if (s.has("maxItems")) {
      rules.add("at most " + s.get("maxItems").asText() + " item(s)");
    }
    if (s.has("minLength")) {
      rules.add(prefix + "at least " + s.get("minLength").asText() + " character(s)");
    }
    if (s.has("maxLength")) {
      rules.add(prefix + "at most " + s.get("maxLength").asText() + " characters");
    }
    if (s.has("pattern")) {
      rules.add(prefix + "matches `" + s.get("pattern").asText() + "`");
    }
  }

  private static String number(JsonNode n) {
    double d = n.asDouble();
    return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
  }

  private static String compact(JsonNode n) {
    return n.isTextual() ? n.asText() : n.toString();
  }

  /** Pipes would end the table cell; newlines would end the row. */
  private static String escape(String s) {
    return s.replace("|", "\\|").replace("\n", " ");
  }

}
