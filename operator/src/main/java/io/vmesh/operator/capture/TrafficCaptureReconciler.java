package io.vmesh.operator.capture;

import io.fabric8.kubernetes.api.model.Pod;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.api.TrafficCaptureStatus;
import io.vmesh.operator.inject.InjectionStatus;
import io.vmesh.operator.inject.SpecHash;
import io.vmesh.operator.selection.LabelSelectorMatcher;
import io.vmesh.operator.selection.LivePods;
import io.vmesh.operator.selection.Seniority;
import io.vmesh.operator.status.ConditionTypes;
import io.vmesh.operator.status.Conditions;
import io.vmesh.operator.status.StatusReport;
import io.vmesh.operator.status.TransitionEvents;
import io.vmesh.operator.validation.SpecValidator;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reports, for each TrafficCapture, whether it is valid and how many of its pods carry an up-to-date sidecar. */
// generation-unaware: a pod event changes the counts without changing the TrafficCapture's generation
@ControllerConfiguration(name = "trafficcapture", generationAwareEventProcessing = false)
public class TrafficCaptureReconciler implements Reconciler<TrafficCapture> {

  private static final Logger LOG = LoggerFactory.getLogger(TrafficCaptureReconciler.class);
  static final String PODS = "pods";
  static final String PEERS = "peer-captures";

  private final Clock clock;
  private final StatusReport<TrafficCapture, TrafficCaptureStatus> report;

  public TrafficCaptureReconciler(Clock clock, TransitionEvents events) {
    this.clock = clock;
    this.report = new StatusReport<>(events, TrafficCapture::new, status -> status.conditions);
  }

  @Override
  public List<EventSource<?, TrafficCapture>> prepareEventSources(EventSourceContext<TrafficCapture> context) {
    // any pod change may change the counts of every capture of its namespace
    var pods = InformerEventSourceConfiguration.from(Pod.class, TrafficCapture.class)
        .withName(PODS)
        .withSecondaryToPrimaryMapper(pod -> capturesIn(context, pod.getMetadata().getNamespace()))
        .build();
    // a capture created or deleted may start or end a conflict with the others of its namespace
    var peers = InformerEventSourceConfiguration.from(TrafficCapture.class, TrafficCapture.class)
        .withName(PEERS)
        .withSecondaryToPrimaryMapper(tc -> capturesIn(context, tc.getMetadata().getNamespace()))
        .withOnUpdateFilter((now, before) -> !SpecHash.of(now.getSpec()).equals(SpecHash.of(before.getSpec())))
        .build();
    return List.of(new InformerEventSource<>(pods, context), new InformerEventSource<>(peers, context));
  }

  @Override
  public UpdateControl<TrafficCapture> reconcile(TrafficCapture capture, Context<TrafficCapture> context) {
    List<String> violations = SpecValidator.validate(capture.getSpec());
    List<Pod> selected = selectedPods(capture, context);
    CaptureCounts counts = CaptureCounts.of(capture.getMetadata().getName(), SpecHash.of(capture.getSpec()), selected);
    Optional<String> conflict = violations.isEmpty() ? olderCaptureSharingAPod(capture, selected, context) : Optional.empty();
    TrafficCaptureStatus status = desiredStatus(capture, violations, counts, conflict);
    return report.changed(capture, status);
  }

  @Override
  public ErrorStatusUpdateControl<TrafficCapture> updateErrorStatus(TrafficCapture capture, Context<TrafficCapture> context,
      Exception e) {
    LOG.warn("reconciling TrafficCapture {}/{} failed", capture.getMetadata().getNamespace(), capture.getMetadata().getName(), e);
    return report.failed(capture, errorStatus(capture, e, clock));
  }

  /** The last known counts and Accepted, with Ready=False saying what failed. */
  static TrafficCaptureStatus errorStatus(TrafficCapture capture, Exception e, Clock clock) {
    TrafficCaptureStatus previous = capture.getStatus() == null ? new TrafficCaptureStatus() : capture.getStatus();
    TrafficCaptureStatus status = new TrafficCaptureStatus();
    status.observedGeneration = previous.observedGeneration;
    status.matchedPods = previous.matchedPods;
    status.injectedPods = previous.injectedPods;
    status.outdatedPods = previous.outdatedPods;
    status.conditions = new Conditions(previous.conditions, capture.getMetadata().getGeneration(), clock)
        .keep(ConditionTypes.ACCEPTED)
        .set(ConditionTypes.READY, false, ConditionTypes.REASON_RECONCILE_ERROR, String.valueOf(e.getMessage()))
        .build();
    return status;
  }

  private List<Pod> selectedPods(TrafficCapture capture, Context<TrafficCapture> context) {
    InformerEventSource<Pod, TrafficCapture> pods =
        (InformerEventSource<Pod, TrafficCapture>) context.eventSourceRetriever().getEventSourceFor(Pod.class, PODS);
    return pods.list(capture.getMetadata().getNamespace(), pod -> selects(capture, pod)).toList();
  }

  /** The newer of two captures selecting the same pod reports it; the older one is the one the webhook applies. */
  private Optional<String> olderCaptureSharingAPod(TrafficCapture capture, List<Pod> selected, Context<TrafficCapture> context) {
    List<TrafficCapture> older = context.getPrimaryCache().list(capture.getMetadata().getNamespace())
        .filter(other -> !other.getMetadata().getName().equals(capture.getMetadata().getName()))
        .filter(other -> Seniority.OLDEST_FIRST.compare(other, capture) < 0)
        .filter(other -> SpecValidator.validate(other.getSpec()).isEmpty())
        .sorted(Seniority.OLDEST_FIRST)
        .toList();
    for (TrafficCapture other : older) {
      Optional<Pod> shared = selected.stream().filter(pod -> selects(other, pod)).findFirst();
      if (shared.isPresent()) {
        return Optional.of("pod " + shared.get().getMetadata().getName() + " is also selected by TrafficCapture "
            + other.getMetadata().getName() + ", which is older and is the one applied to it; make the selectors disjoint");
      }
    }
    return Optional.empty();
  }

  private TrafficCaptureStatus desiredStatus(TrafficCapture capture, List<String> violations, CaptureCounts counts,
      Optional<String> conflict) {
    TrafficCaptureStatus previous = capture.getStatus();
    Conditions conditions = new Conditions(previous == null ? null : previous.conditions, capture.getMetadata().getGeneration(), clock);
    if (!violations.isEmpty()) {
      String message = String.join("; ", violations);
      conditions.set(ConditionTypes.ACCEPTED, false, ConditionTypes.REASON_INVALID, message)
          .set(ConditionTypes.READY, false, ConditionTypes.REASON_INVALID, message);
    } else {
      conditions.set(ConditionTypes.ACCEPTED, true, ConditionTypes.REASON_ACCEPTED, "");
      if (conflict.isPresent()) {
        conditions.set(ConditionTypes.READY, false, ConditionTypes.REASON_CONFLICTING_CAPTURES, conflict.get());
      } else {
        conditions.set(ConditionTypes.READY, true, ConditionTypes.REASON_RECONCILED, readyMessage(counts));
      }
    }
    TrafficCaptureStatus status = new TrafficCaptureStatus();
    status.observedGeneration = capture.getMetadata().getGeneration();
    status.matchedPods = counts.matched();
    status.injectedPods = counts.injected();
    status.outdatedPods = counts.outdated();
    status.conditions = conditions.build();
    return status;
  }

  private static String readyMessage(CaptureCounts counts) {
    if (counts.outdated() > 0) {
      return counts.outdated() + " of " + counts.injected() + " injected pods run a sidecar from an older spec; restart them";
    }
    return counts.injected() + " of " + counts.matched() + " selected pods injected";
  }

  private static boolean selects(TrafficCapture capture, Pod pod) {
    return LivePods.isLive(pod)
        && !InjectionStatus.optedOut(pod)
        && LabelSelectorMatcher.matches(capture.getSpec() == null ? null : capture.getSpec().selector, pod.getMetadata().getLabels());
  }

  private static Set<ResourceID> capturesIn(EventSourceContext<TrafficCapture> context, String namespace) {
    return context.getPrimaryCache().list(namespace).map(ResourceID::fromResource).collect(Collectors.toSet());
  }
}
