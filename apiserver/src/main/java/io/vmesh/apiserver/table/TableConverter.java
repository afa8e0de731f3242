package io.vmesh.apiserver.table;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Turns a list or a single object into a {@code meta.k8s.io/v1 Table}, the answer {@code kubectl get} asks for
 * with {@code Accept: application/json;as=Table;v=v1;g=meta.k8s.io}.
 */
public final class TableConverter {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Clock clock;

  public TableConverter(Clock clock) {
    this.clock = clock;
  }

  /** {@code body} is what the CRUD store answered: a {@code List} with {@code items}, or one object. */
  public ObjectNode convert(JsonNode body, List<PrinterColumn> columns) {
    ObjectNode table = JSON.createObjectNode();
    table.put("kind", "Table");
    table.put("apiVersion", "meta.k8s.io/v1");
    ObjectNode metadata = table.putObject("metadata");
    metadata.put("resourceVersion", body.path("metadata").path("resourceVersion").asText(""));

    ArrayNode definitions = table.putArray("columnDefinitions");
    definitions.add(definition("Name", "string", "name", "Name must be unique within a namespace.", 0));
    for (PrinterColumn c : columns) {
      definitions.add(definition(c.name(), c.type(), c.format(), c.description(), c.priority()));
    }

    ArrayNode rows = table.putArray("rows");
    if (body.has("items")) {
      body.path("items").forEach(object -> rows.add(row(object, columns)));
    } else {
      rows.add(row(body, columns));
    }
    return table;
  }

  private ObjectNode row(JsonNode object, List<PrinterColumn> columns) {
    ObjectNode row = JSON.createObjectNode();
    ArrayNode cells = row.putArray("cells");
    cells.add(object.path("metadata").path("name").asText());
    Object plain = JSON.convertValue(object, Object.class);
    for (PrinterColumn c : columns) {
      cells.add(JSON.valueToTree(cell(c, c.value().apply(plain))));
    }
    // kubectl reads namespace (-A) and labels (--show-labels) from each row's object
    ObjectNode partial = row.putObject("object");
    partial.put("kind", "PartialObjectMetadata");
    partial.put("apiVersion", "meta.k8s.io/v1");
    partial.set("metadata", object.path("metadata").deepCopy());
    return row;
  }

  /** A cell typed like the column; a value of the wrong type prints blank, as on a real API server. */
  Object cell(PrinterColumn column, Object value) {
    if (value == null) {
      return null;
    }
    switch (column.type()) {
      case "integer":
        return value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) ? n.longValue() : null;
      case "number":
        return value instanceof Number ? value : null;
      case "boolean":
        return value instanceof Boolean ? value : null;
      case "date":
        return value instanceof String s ? Age.since(s, clock.instant()) : null;
      default:
        return text(value);
    }
  }

  private static String text(Object value) {
    if (value instanceof String s) {
      return s;
    }
    if (value instanceof List<?> l) {
      return l.stream().map(TableConverter::text).collect(Collectors.joining(","));
    }
    if (value instanceof Map<?, ?>) {
      return JSON.valueToTree(value).toString();
    }
    return String.valueOf(value);
  }

  private static ObjectNode definition(String name, String type, String format, String description, int priority) {
    ObjectNode d = JSON.createObjectNode();
    d.put("name", name);
    d.put("type", type);
    d.put("format", format);
    d.put("description", description);
    d.put("priority", priority);
    return d;
  }
}
