package io.vmesh.operator.capture;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.api.TrafficCaptureStatus;
import io.vmesh.operator.status.Conditions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** A failed reconcile ends as Ready=False with the reason ReconcileError and keeps what was known. */
class ErrorStatusTest {

  private static final Clock BEFORE = Clock.fixed(Instant.parse("2026-11-26T10:00:00Z"), ZoneOffset.UTC);
  private static final Clock NOW = Clock.fixed(Instant.parse("2026-11-26T10:05:00Z"), ZoneOffset.UTC);

  @Test
  void aCaptureKeepsItsCountsAndAcceptedAndReportsTheError() {
    TrafficCapture capture = new TrafficCapture();
    capture.getMetadata().setName("web");
    capture.getMetadata().setGeneration(4L);
    TrafficCaptureStatus previous = new TrafficCaptureStatus();
    previous.matchedPods = 3;
    previous.injectedPods = 2;
    previous.outdatedPods = 1;
    previous.conditions = new Conditions(null, 4L, BEFORE)
        .set("Accepted", true, "Accepted", "")
        .set("Ready", true, "Reconciled", "")
        .build();
    capture.setStatus(previous);

    TrafficCaptureStatus status = TrafficCaptureReconciler.errorStatus(capture, new IllegalStateException("informer not synced"), NOW);

    assertThat(status.matchedPods).isEqualTo(3);
    assertThat(status.outdatedPods).isEqualTo(1);
    assertThat(Conditions.find(status.conditions, "Accepted")).contains(previous.conditions.get(0));
    assertThat(Conditions.find(status.conditions, "Ready")).hasValueSatisfying(ready -> {
      assertThat(ready.getStatus()).isEqualTo("False");
      assertThat(ready.getReason()).isEqualTo("ReconcileError");
      assertThat(ready.getMessage()).isEqualTo("informer not synced");
      assertThat(ready.getLastTransitionTime()).isEqualTo("2026-11-26T10:05:00Z");
    });
  }

  @Test
  void aResourceWithoutStatusGetsOnlyReady() {
    TrafficCapture capture = new TrafficCapture();
    capture.getMetadata().setName("new");

    TrafficCaptureStatus status = TrafficCaptureReconciler.errorStatus(capture, new RuntimeException("boom"), NOW);

    assertThat(status.conditions).extracting(Condition::getType).containsExactly("Ready");
    assertThat(status.matchedPods).isNull();
  }
}
