package io.vmesh.apiserver.table;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** One column of {@code kubectl get}: a CRD's {@code additionalPrinterColumns} entry, or a built-in one. */
public record PrinterColumn(String name, String type, String format, String description, int priority, ColumnPath path) {

  /** Kubernetes adds this column when a CRD declares none. */
  public static final PrinterColumn AGE = new PrinterColumn("Age", "date", "", "Time since creation", 0,
      ColumnPath.of(".metadata.creationTimestamp"));

  /** Reads a CRD version's {@code additionalPrinterColumns}; an empty list gives just Age, as Kubernetes does. */
  public static List<PrinterColumn> fromCrdVersion(JsonNode crdVersion) {
    List<PrinterColumn> columns = new ArrayList<>();
    for (JsonNode c : crdVersion.path("additionalPrinterColumns")) {
      columns.add(new PrinterColumn(c.path("name").asText(), c.path("type").asText("string"),
          c.path("format").asText(""), c.path("description").asText(""), c.path("priority").asInt(0),
          ColumnPath.of(c.path("jsonPath").asText())));
    }
    return columns.isEmpty() ? List.of(AGE) : columns;
  }
}
