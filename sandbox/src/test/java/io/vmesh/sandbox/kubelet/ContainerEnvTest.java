package io.vmesh.sandbox.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContainerEnvTest {

  private final Pod pod = new PodBuilder().withNewMetadata().withName("web-1").withNamespace("shop").withUid("u-1")
      .addToLabels("app", "web").endMetadata().withNewSpec().withNodeName("vmesh-node").endSpec().build();

  @Test
  void downwardApiValuesAndPlainValuesWithReferencesToEarlierOnes() {
    Container c = new ContainerBuilder().withName("app")
        .addNewEnv().withName("POD_NAME").withNewValueFrom().withNewFieldRef().withFieldPath("metadata.name").endFieldRef().endValueFrom().endEnv()
        .addNewEnv().withName("IP").withNewValueFrom().withNewFieldRef().withFieldPath("status.podIP").endFieldRef().endValueFrom().endEnv()
        .addNewEnv().withName("SA").withNewValueFrom().withNewFieldRef().withFieldPath("spec.serviceAccountName").endFieldRef().endValueFrom().endEnv()
        .addNewEnv().withName("APP").withNewValueFrom().withNewFieldRef().withFieldPath("metadata.labels['app']").endFieldRef().endValueFrom().endEnv()
        .addNewEnv().withName("URL").withValue("http://$(IP):8080/$(MISSING)/$$x").endEnv()
        .build();
    Map<String, String> env = ContainerEnv.of(pod, c, "10.88.0.12", "10.88.0.1", null);
    assertThat(env).containsEntry("POD_NAME", "web-1").containsEntry("IP", "10.88.0.12").containsEntry("SA", "default")
        .containsEntry("APP", "web").containsEntry("URL", "http://10.88.0.12:8080/$(MISSING)/$x")
        .containsEntry("HOSTNAME", "web-1").containsKey("PATH");
  }

  @Test
  void anUnsupportedFieldIsAnErrorNamingIt() {
    assertThatThrownBy(() -> ContainerEnv.field(pod, "status.phase", "10.88.0.12", "10.88.0.1"))
        .hasMessageContaining("status.phase");
  }
}
