package io.vmesh.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Records a Kubernetes Event on a resource for each condition that changed status or reason. */
public final class TransitionEvents {

  private static final Logger LOG = LoggerFactory.getLogger(TransitionEvents.class);
  static final String COMPONENT = "vmesh-operator";

  private final KubernetesClient client;
  private final Clock clock;

  public TransitionEvents(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
  }

  public void record(HasMetadata resource, List<Condition> before, List<Condition> after) {
    for (Condition changed : Transitions.between(before, after)) {
      // Accepted=True and ResolvedRefs=True are implied by Ready=True; only the summary and failures are news
      boolean failure = !ConditionTypes.TRUE.equals(changed.getStatus());
      if (failure || ConditionTypes.READY.equals(changed.getType())) {
        emit(resource, failure ? "Warning" : "Normal", changed.getReason(), changed.getType() + "=" + changed.getStatus()
            + (changed.getMessage().isEmpty() ? "" : ": " + changed.getMessage()));
      }
    }
  }

  /** Records one Event on {@code resource}; a failure is logged, never thrown. */
  public void emit(HasMetadata resource, String type, String reason, String message) {
    String now = Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
    Event event = new EventBuilder()
        .withNewMetadata()
          // named like the API server's own events: generateName is not served by every API server
          .withName(resource.getMetadata().getName() + "." + Long.toHexString(System.nanoTime()))
          .withNamespace(resource.getMetadata().getNamespace())
        .endMetadata()
        .withNewInvolvedObject()
          .withApiVersion(resource.getApiVersion())
          .withKind(resource.getKind())
          .withName(resource.getMetadata().getName())
          .withNamespace(resource.getMetadata().getNamespace())
          .withUid(resource.getMetadata().getUid())
        .endInvolvedObject()
        .withType(type)
        .withReason(reason)
        .withMessage(message)
        .withFirstTimestamp(now)
        .withLastTimestamp(now)
        .withCount(1)
        .withNewSource().withComponent(COMPONENT).endSource()
        .withReportingComponent(COMPONENT)
        .build();
    try {
      client.v1().events().inNamespace(resource.getMetadata().getNamespace()).resource(event).create();
    } catch (KubernetesClientException e) {
      // an Event is a courtesy: losing one must not fail the reconcile that already wrote the status
      LOG.warn("cannot record event {} on {}/{}: {}", reason, resource.getKind(), resource.getMetadata().getName(), e.getMessage());
    }
  }
}
