package io.vmesh.apiserver.table;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One column of {@code kubectl get}: a CRD's {@code additionalPrinterColumns} entry, or a built-in one;
 * {@code value} reads the cell from the object as Jackson maps and lists.
 */
public record PrinterColumn(String name, String type, String format, String description, int priority,
    Function<Object, Object> value) {

  private static final Logger LOG = LoggerFactory.getLogger(PrinterColumn.class);

  /** Kubernetes adds this column when a CRD declares none. */
  public static final PrinterColumn AGE = of("Age", "date", 0, ".metadata.creationTimestamp");

  /** A column read with a Kubernetes JSONPath. */
  static PrinterColumn of(String name, String type, int priority, String jsonPath) {
    return new PrinterColumn(name, type, "", "", priority, ColumnPath.of(jsonPath)::read);
  }

  /** Reads a CRD version's {@code additionalPrinterColumns}; an empty list gives just Age, as Kubernetes does. */
  public static List<PrinterColumn> fromCrdVersion(JsonNode crdVersion) {
    List<PrinterColumn> columns = new ArrayList<>();
    for (JsonNode c : crdVersion.path("additionalPrinterColumns")) {
      Function<Object, Object> value;
      try {
        value = ColumnPath.of(c.path("jsonPath").asText())::read;
      } catch (IllegalArgumentException e) {
        // a blank column rather than a failed kubectl get; the store does not validate CRDs
        LOG.warn("printer column {} prints blank: {}", c.path("name").asText(), e.getMessage());
        value = object -> null;
      }
      columns.add(new PrinterColumn(c.path("name").asText(), c.path("type").asText("string"),
          c.path("format").asText(""), c.path("description").asText(""), c.path("priority").asInt(0), value));
    }
    return columns.isEmpty() ? List.of(AGE) : columns;
  }
}
