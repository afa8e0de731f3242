package io.vmesh.apiserver.table;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ColumnPathTest {

  private static final Object WIDGET = read("""
      {"metadata": {"name": "gear", "labels": {"app.kubernetes.io/name": "gearbox", "tier": "backend"}},
       "spec": {"replicas": 3, "ports": [{"port": 80}, {"port": 443}]},
       "status": {"conditions": [
          {"type": "Accepted", "status": "True", "reason": "Accepted"},
          {"type": "Ready", "status": "False", "reason": "Conflicted"}]}}
      """);

  @Test
  void translatesKubernetesSyntaxToJayway() {
    assertThat(ColumnPath.toJayway(".spec.replicas")).isEqualTo("$.spec.replicas");
    assertThat(ColumnPath.toJayway("{.spec.replicas}")).isEqualTo("$.spec.replicas");
    assertThat(ColumnPath.toJayway(".status.conditions[?(@.type==\"Ready\")].status"))
        .isEqualTo("$.status.conditions[?(@.type==\"Ready\")].status");
    assertThat(ColumnPath.toJayway(".metadata.labels.app\\.kubernetes\\.io/name"))
        .isEqualTo("$.metadata.labels['app.kubernetes.io/name']");
    assertThat(ColumnPath.toJayway(".spec.ports[0].port")).isEqualTo("$.spec.ports[0].port");
  }

  @Test
  void readsTheValueKubectlWouldShow() {
    assertThat(ColumnPath.of(".spec.replicas").read(WIDGET)).isEqualTo(3);
    assertThat(ColumnPath.of(".status.conditions[?(@.type==\"Ready\")].status").read(WIDGET)).isEqualTo("False");
    assertThat(ColumnPath.of(".status.conditions[?(@.type==\"Ready\")].reason").read(WIDGET))
        .isEqualTo("Conflicted");
    assertThat(ColumnPath.of(".metadata.labels.app\\.kubernetes\\.io/name").read(WIDGET)).isEqualTo("gearbox");
    assertThat(ColumnPath.of(".spec.ports[1].port").read(WIDGET)).isEqualTo(443);
  }

  @Test
  void missingValuesAreNull() {
    assertThat(ColumnPath.of(".status.observedGeneration").read(WIDGET)).isNull();
    assertThat(ColumnPath.of(".status.conditions[?(@.type==\"Synced\")].status").read(WIDGET)).isNull();
    assertThat(ColumnPath.of(".nothing.at.all").read(Map.of())).isNull();
  }

  @Test
  void rejectsWhatItCannotParse() {
    assertThatThrownBy(() -> ColumnPath.of(".spec.ports[0")).isInstanceOf(IllegalArgumentException.class);
  }

  private static Object read(String json) {
    try {
      return new ObjectMapper().readValue(json, Object.class);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
