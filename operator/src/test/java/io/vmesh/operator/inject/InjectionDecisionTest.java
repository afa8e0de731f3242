package io.vmesh.operator.inject;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmesh.operator.api.TrafficCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The namespace opt-in, which the decision enforces itself because OLM's webhook configuration cannot. */
class InjectionDecisionTest {

  private static final InjectionSettings SETTINGS = InjectionSettings.of(InjectionSettings.DEFAULT_IMAGE,
      InjectionSettings.DEFAULT_XDS_ADDRESS, "1.30", InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);

  private final Pod pod;
  private final TrafficCapture capture;

  InjectionDecisionTest() throws Exception {
    List<HasMetadata> objects = Manifests.read(Files.readString(Path.of("src/test/resources/inject/in-plain-pod.yaml")), "in-plain-pod.yaml");
    pod = (Pod) objects.get(0);
    capture = (TrafficCapture) objects.get(1);
  }

  private static Namespace shop(Map<String, String> labels) {
    return new NamespaceBuilder().withNewMetadata().withName("shop").withLabels(labels).endMetadata().build();
  }

  @Test
  void labelledNamespaceIsInjected() {
    InjectionDecision d = InjectionDecision.decide(pod, shop(Map.of("vmesh.io/injection", "enabled")), List.of(capture), SETTINGS);
    assertThat(d.outcome()).isEqualTo(InjectionDecision.Outcome.INJECT);
  }

  @Test
  void unlabelledNamespaceIsSkippedWithTheLabelNamed() {
    InjectionDecision d = InjectionDecision.decide(pod, shop(Map.of()), List.of(capture), SETTINGS);
    assertThat(d.outcome()).isEqualTo(InjectionDecision.Outcome.SKIP);
    assertThat(d.reason()).isEqualTo("NamespaceNotEnabled");
    assertThat(d.message()).isEqualTo("namespace shop is not labelled vmesh.io/injection=enabled");
  }

  @Test
  void anyOtherLabelValueIsNotAnOptIn() {
    InjectionDecision d = InjectionDecision.decide(pod, shop(Map.of("vmesh.io/injection", "disabled")), List.of(capture), SETTINGS);
    assertThat(d.reason()).isEqualTo("NamespaceNotEnabled");
  }
}
