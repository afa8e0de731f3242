package io.vmesh.operator.capture;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.vmesh.operator.inject.InjectionStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

class CaptureCountsTest {

  @Test
  void countsInjectedAndOutdatedPodsOfThisCaptureOnly() {
    List<Pod> pods = List.of(
        pod("plain", null),
        pod("current", new InjectionStatus("default", "aaaa", List.of(), List.of())),
        pod("old", new InjectionStatus("default", "bbbb", List.of(), List.of())),
        pod("someone-else", new InjectionStatus("other", "aaaa", List.of(), List.of())));

    assertThat(CaptureCounts.of("default", "aaaa", pods)).isEqualTo(new CaptureCounts(4, 2, 1));
  }

  private static Pod pod(String name, InjectionStatus status) {
    PodBuilder pod = new PodBuilder().withNewMetadata().withName(name).endMetadata();
    if (status != null) {
      pod.editMetadata().addToAnnotations(InjectionStatus.ANNOTATION, status.toJson()).endMetadata();
    }
    return pod.build();
  }
}
