package io.vmesh.apiserver.table;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class TableConverterTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-26T15:00:00Z"), ZoneOffset.UTC);

  private final TableConverter converter = new TableConverter(CLOCK);

  private final List<PrinterColumn> columns = PrinterColumn.fromCrdVersion(tree("""
      {"name": "v1alpha1", "additionalPrinterColumns": [
        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\\"Ready\\")].status"},
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Reason", "type": "string", "priority": 1,
         "jsonPath": ".status.conditions[?(@.type==\\"Ready\\")].reason"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}
      """));

  @Test
  void listBecomesATableWithNameFirstAndTypedCells() {
    JsonNode table = converter.convert(tree("""
        {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "12"}, "items": [
          {"apiVersion": "test.vmesh.io/v1alpha1", "kind": "Widget",
           "metadata": {"name": "gear", "namespace": "demo", "labels": {"tier": "backend"},
                        "creationTimestamp": "2026-11-26T11:55:00Z"},
           "spec": {"replicas": 3},
           "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}]}},
          {"apiVersion": "test.vmesh.io/v1alpha1", "kind": "Widget",
           "metadata": {"name": "cog", "namespace": "demo", "creationTimestamp": "2026-11-24T15:00:00Z"},
           "spec": {"replicas": "three"}}]}
        """), columns);

    assertThat(table.path("kind").asText()).isEqualTo("Table");
    assertThat(table.path("apiVersion").asText()).isEqualTo("meta.k8s.io/v1");
    assertThat(table.path("metadata").path("resourceVersion").asText()).isEqualTo("12");
    assertThat(table.path("columnDefinitions").findValuesAsText("name"))
        .containsExactly("Name", "Ready", "Replicas", "Reason", "Age");
    assertThat(table.path("columnDefinitions").get(3).path("priority").asInt()).isEqualTo(1);
    assertThat(table.path("columnDefinitions").get(4).path("type").asText()).isEqualTo("date");

    JsonNode gear = table.path("rows").get(0);
    assertThat(gear.path("cells").toString()).isEqualTo("[\"gear\",\"True\",3,\"Ready\",\"3h5m\"]");
    assertThat(gear.path("cells").get(2).isIntegralNumber()).isTrue();
    assertThat(gear.path("object").path("kind").asText()).isEqualTo("PartialObjectMetadata");
    assertThat(gear.path("object").path("apiVersion").asText()).isEqualTo("meta.k8s.io/v1");
    assertThat(gear.path("object").path("metadata").path("namespace").asText()).isEqualTo("demo");
    assertThat(gear.path("object").path("metadata").path("labels").path("tier").asText()).isEqualTo("backend");
    assertThat(gear.path("object").has("spec")).isFalse();

    // no status yet and a replicas field of the wrong type: blank cells, as a real API server gives
    assertThat(table.path("rows").get(1).path("cells").toString()).isEqualTo("[\"cog\",null,null,null,\"2d\"]");
  }

  @Test
  void singleObjectBecomesAOneRowTable() {
    JsonNode table = converter.convert(tree("""
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": "default", "resourceVersion": "7",
                      "creationTimestamp": "2026-11-26T14:59:15Z"}}
        """), List.of(PrinterColumn.AGE));
    assertThat(table.path("columnDefinitions").findValuesAsText("name")).containsExactly("Name", "Age");
    assertThat(table.path("rows")).hasSize(1);
    assertThat(table.path("rows").get(0).path("cells").toString()).isEqualTo("[\"settings\",\"45s\"]");
    assertThat(table.path("metadata").path("resourceVersion").asText()).isEqualTo("7");
  }

  @Test
  void columnWithAPathJaywayCannotReadPrintsBlank() {
    List<PrinterColumn> broken = PrinterColumn.fromCrdVersion(tree("""
        {"name": "v1", "additionalPrinterColumns": [
          {"name": "Port", "type": "integer", "jsonPath": ".spec.ports[0"},
          {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]}
        """));
    JsonNode table = converter.convert(tree("""
        {"metadata": {"name": "x", "creationTimestamp": "2026-11-26T14:00:00Z"}, "spec": {"ports": [80]}}
        """), broken);
    assertThat(table.path("rows").get(0).path("cells").toString()).isEqualTo("[\"x\",null,\"60m\"]");
  }

  @Test
  void crdWithoutPrinterColumnsGetsAge() {
    assertThat(PrinterColumn.fromCrdVersion(tree("{\"name\": \"v1\"}"))).containsExactly(PrinterColumn.AGE);
  }

  private static JsonNode tree(String json) {
    try {
      return JSON.readTree(json);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
