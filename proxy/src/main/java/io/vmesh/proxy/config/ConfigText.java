package io.vmesh.proxy.config;

import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * A bootstrap file's text as a plain tree ({@link Map}, {@link List}, {@link Scalar}) and back to JSON for
 * protobuf's {@code JsonFormat}. YAML through SnakeYAML's composer (nodes, no object construction), JSON
 * through gson's streaming reader: both are on the class path for other reasons, where Jackson's data binding
 * and YAML module cost ~500 classes and several MiB of metadata at every start from a file.
 */
final class ConfigText {

  /** A leaf: its text, and what JSON would make of it. */
  record Scalar(String text, Kind kind) {
    enum Kind { STRING, NUMBER, BOOLEAN, NULL }
  }

  // the plain YAML scalars taken as something other than a string: YAML 1.2's core schema (as Jackson reads
  // them), so "yes", "on" or a date stay strings; numbers in JSON's own syntax, which JsonFormat accepts
  private static final Set<String> NULLS = Set.of("", "~", "null", "Null", "NULL");
  private static final Set<String> BOOLEANS = Set.of("true", "True", "TRUE", "false", "False", "FALSE");
  private static final Pattern NUMBER = Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?");

  private ConfigText() {
  }

  static Object readYaml(String text) throws ConfigException {
    Node root;
    try {
      // the composer alone, not the Yaml facade, which also builds a constructor, a representer and an emitter
      // (~100 more classes) that a node tree does not need
      LoaderOptions options = new LoaderOptions();
      root = new Composer(new ParserImpl(new StreamReader(text), options), new Resolver(), options).getSingleNode();
    } catch (MarkedYAMLException e) {
      throw invalid("YAML", e.getProblem() == null ? e.getMessage() : e.getProblem(), e.getProblemMark());
    } catch (YAMLException e) {
      throw invalid("YAML", e.getMessage(), null);
    }
    return root == null ? null : fromYaml(root, new IdentityHashMap<>());
  }

  private static Object fromYaml(Node node, Map<Node, Boolean> open) throws ConfigException {
    if (open.put(node, Boolean.TRUE) != null) {
      throw invalid("YAML", "an alias refers to a node that contains it", node.getStartMark());
    }
    try {
      if (node instanceof ScalarNode s) {
        if (s.getScalarStyle() != DumperOptions.ScalarStyle.PLAIN) {
          return new Scalar(s.getValue(), Scalar.Kind.STRING);
        }
        String v = s.getValue();
        Scalar.Kind kind = NULLS.contains(v) ? Scalar.Kind.NULL
            : BOOLEANS.contains(v) ? Scalar.Kind.BOOLEAN
            : NUMBER.matcher(v).matches() ? Scalar.Kind.NUMBER : Scalar.Kind.STRING;
        return new Scalar(kind == Scalar.Kind.BOOLEAN ? v.toLowerCase() : v, kind);
      }
      if (node instanceof SequenceNode seq) {
        List<Object> list = new ArrayList<>(seq.getValue().size());
        for (Node item : seq.getValue()) {
          list.add(fromYaml(item, open));
        }
        return list;
      }
      MappingNode mapping = (MappingNode) node;
      Map<String, Object> map = new LinkedHashMap<>();
      for (NodeTuple t : mapping.getValue()) {
        if (!(t.getKeyNode() instanceof ScalarNode key)) {
          throw invalid("YAML", "a key must be a scalar", t.getKeyNode().getStartMark());
        }
        if (map.containsKey(key.getValue())) {
          // a key given twice would otherwise keep one value and drop the other without a word
          throw invalid("YAML", "Duplicate field '" + key.getValue() + "'", key.getStartMark());
        }
        map.put(key.getValue(), fromYaml(t.getValueNode(), open));
      }
      return map;
    } finally {
      open.remove(node);
    }
  }

  private static ConfigException invalid(String format, String problem, Mark mark) {
    return new ConfigException("", "not valid " + format + ": " + problem.strip()
        + (mark == null ? "" : " at line " + (mark.getLine() + 1)));
  }

  static Object readJson(String text) throws ConfigException {
    try (JsonReader reader = new JsonReader(new StringReader(text))) {
      reader.setLenient(false);
      if (reader.peek() == JsonToken.END_DOCUMENT) {
        return null;
      }
      Object root = fromJson(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) {
        throw new ConfigException("", "not valid JSON: more after the top-level value" + where(reader));
      }
      return root;
    } catch (IOException | IllegalStateException | NumberFormatException e) {
      throw new ConfigException("", "not valid JSON: " + e.getMessage());
    }
  }

  private static Object fromJson(JsonReader reader) throws IOException, ConfigException {
    switch (reader.peek()) {
      case BEGIN_OBJECT -> {
        Map<String, Object> map = new LinkedHashMap<>();
        reader.beginObject();
        while (reader.hasNext()) {
          String name = reader.nextName();
          if (map.containsKey(name)) {
            throw new ConfigException("", "not valid JSON: Duplicate field '" + name + "'" + where(reader));
          }
          map.put(name, fromJson(reader));
        }
        reader.endObject();
        return map;
      }
      case BEGIN_ARRAY -> {
        List<Object> list = new ArrayList<>();
        reader.beginArray();
        while (reader.hasNext()) {
          list.add(fromJson(reader));
        }
        reader.endArray();
        return list;
      }
      case STRING -> {
        return new Scalar(reader.nextString(), Scalar.Kind.STRING);
      }
      case NUMBER -> {
        return new Scalar(reader.nextString(), Scalar.Kind.NUMBER); // the text as written, no rounding
      }
      case BOOLEAN -> {
        return new Scalar(Boolean.toString(reader.nextBoolean()), Scalar.Kind.BOOLEAN);
      }
      case NULL -> {
        reader.nextNull();
        return new Scalar("null", Scalar.Kind.NULL);
      }
      default -> throw new ConfigException("", "not valid JSON: unexpected " + reader.peek() + where(reader));
    }
  }

  // gson keeps its position to itself but for toString(): "JsonReader at line 1 column 30 path $.node.id"
  private static String where(JsonReader reader) {
    String s = reader.toString();
    int at = s.indexOf(" at line ");
    return at < 0 ? "" : s.substring(at);
  }

  /** The tree as JSON text, numbers exactly as they were written. */
  static String toJson(Object tree) {
    StringWriter out = new StringWriter();
    try (JsonWriter writer = new JsonWriter(out)) {
      writer.setSerializeNulls(true);
      write(tree, writer);
    } catch (IOException e) {
      throw new IllegalStateException("writing to a string", e);
    }
    return out.toString();
  }

  @SuppressWarnings("unchecked")
  private static void write(Object node, JsonWriter writer) throws IOException {
    if (node instanceof Map<?, ?> map) {
      writer.beginObject();
      for (Map.Entry<String, Object> e : ((Map<String, Object>) map).entrySet()) {
        writer.name(e.getKey());
        write(e.getValue(), writer);
      }
      writer.endObject();
    } else if (node instanceof List<?> list) {
      writer.beginArray();
      for (Object item : list) {
        write(item, writer);
      }
      writer.endArray();
    } else {
      Scalar s = (Scalar) node;
      switch (s.kind()) {
        case STRING -> writer.value(s.text());
        case NULL -> writer.nullValue();
        default -> writer.jsonValue(s.text());
      }
    }
  }
}
