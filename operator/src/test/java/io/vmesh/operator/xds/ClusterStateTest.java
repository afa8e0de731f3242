package io.vmesh.operator.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ClusterStateTest {

  @Test
  void refusesAKindThatIsNotAnInputNamingTheDocument() {
    assertThatThrownBy(() -> ClusterState.fromYaml("apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: n}\n---\n"
        + "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: n}\n", "in.yaml", "vmesh-system"))
        .hasMessageStartingWith("in.yaml, document 2: kind 'Deployment' is not an input of config generation");
  }

  @Test
  void refusesAnObjectWithoutNamespace() {
    assertThatThrownBy(() -> ClusterState.fromYaml("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "in.yaml", "vmesh-system"))
        .hasMessage("in.yaml: Pod p has no metadata.namespace");
  }

  @Test
  void readsDurationsLikeTheCrdPattern() {
    assertThat(GoDuration.parse("1m30s")).isEqualTo(Duration.ofSeconds(90));
    assertThat(GoDuration.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(GoDuration.parse("1.5h")).isEqualTo(Duration.ofMinutes(90));
    assertThatThrownBy(() -> GoDuration.parse("5 seconds")).hasMessageContaining("'5 seconds'");
  }

  @Test
  void readsPortProtocolsFromAppProtocolThenName() {
    assertThat(PortProtocols.fromName("http-web")).contains(io.vmesh.operator.api.Protocol.HTTP);
    assertThat(PortProtocols.fromName("grpc")).contains(io.vmesh.operator.api.Protocol.GRPC);
    assertThat(PortProtocols.fromName("https-web")).isEmpty();
    assertThat(PortProtocols.fromName("web")).isEmpty();
    assertThat(PortProtocols.fromAppProtocol("kubernetes.io/h2c")).contains(io.vmesh.operator.api.Protocol.HTTP2);
    assertThat(PortProtocols.fromAppProtocol("HTTP")).contains(io.vmesh.operator.api.Protocol.HTTP);
  }
}
