package io.vmesh.operator.inject;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.vmesh.operator.api.CaptureMode;
import io.vmesh.operator.api.TrafficCaptureSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SpecHashTest {

  private final ObjectMapper json = new ObjectMapper();

  @Test
  void omittedDefaultsAndFieldOrderDoNotChangeTheHash() throws Exception {
    TrafficCaptureSpec bare = json.readValue("{\"selector\":{\"matchLabels\":{\"app\":\"web\",\"tier\":\"a\"}}}", TrafficCaptureSpec.class);
    TrafficCaptureSpec explicit = json.readValue(
        "{\"mode\":\"REDIRECT\",\"selector\":{\"matchLabels\":{\"tier\":\"a\",\"app\":\"web\"}}}", TrafficCaptureSpec.class);

    assertThat(SpecHash.of(bare)).hasSize(16).matches("[0-9a-f]{16}").isEqualTo(SpecHash.of(explicit));
  }

  @Test
  void aChangedFieldChangesTheHash() {
    TrafficCaptureSpec redirect = new TrafficCaptureSpec();
    TrafficCaptureSpec tproxy = new TrafficCaptureSpec();
    tproxy.mode = CaptureMode.TPROXY;

    assertThat(SpecHash.of(redirect)).isNotEqualTo(SpecHash.of(tproxy));
    assertThat(SpecHash.of(null)).isEqualTo(SpecHash.of(new TrafficCaptureSpec()));
  }

  @Test
  void theAnnotationRoundTripsAndBadJsonReadsAsNotInjected() {
    InjectionStatus status = new InjectionStatus("default", "0123456789abcdef", List.of("vmesh-init"), List.of("vmesh-proxy"));
    var pod = new PodBuilder().withNewMetadata().withName("p").addToAnnotations(InjectionStatus.ANNOTATION, status.toJson())
        .endMetadata().build();
    var broken = new PodBuilder().withNewMetadata().withName("q").addToAnnotations(InjectionStatus.ANNOTATION, "{not json")
        .endMetadata().build();
    var optedOut = new PodBuilder().withNewMetadata().withName("r").withAnnotations(Map.of(InjectionStatus.INJECT_ANNOTATION, "false"))
        .endMetadata().build();

    assertThat(InjectionStatus.of(pod)).contains(status);
    assertThat(InjectionStatus.of(broken)).isEmpty();
    assertThat(InjectionStatus.optedOut(optedOut)).isTrue();
    assertThat(InjectionStatus.optedOut(pod)).isFalse();
  }
}
