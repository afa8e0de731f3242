package io.vmesh.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.CustomResource;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The last step of a reconcile: write the status only when it changed, from a fresh object that carries
 * nothing but identity and the complete status, and record Events for the conditions that moved.
 */
public final class StatusReport<R extends CustomResource<?, S>, S> {

  private final TransitionEvents events;
  private final Supplier<R> newResource;
  private final Function<S, List<Condition>> conditions;

  public StatusReport(TransitionEvents events, Supplier<R> newResource, Function<S, List<Condition>> conditions) {
    this.events = events;
    this.newResource = newResource;
    this.conditions = conditions;
  }

  /** Patches the status when it differs from the stored one; no write at all otherwise. */
  public UpdateControl<R> changed(R resource, S status) {
    S previous = resource.getStatus();
    if (StatusComparison.same(previous, status)) {
      return UpdateControl.noUpdate();
    }
    events.record(resource, previous == null ? null : conditions.apply(previous), conditions.apply(status));
    return UpdateControl.patchStatus(freshWith(resource, status));
  }

  /** The status after a failed reconcile; JOSDK retries with backoff. */
  public ErrorStatusUpdateControl<R> failed(R resource, S status) {
    S previous = resource.getStatus();
    events.record(resource, previous == null ? null : conditions.apply(previous), conditions.apply(status));
    return ErrorStatusUpdateControl.patchStatus(freshWith(resource, status));
  }

  // the patch then cannot touch spec or metadata, whatever the informer's copy holds
  private R freshWith(R resource, S status) {
    R fresh = newResource.get();
    fresh.setMetadata(new ObjectMetaBuilder()
        .withName(resource.getMetadata().getName())
        .withNamespace(resource.getMetadata().getNamespace())
        .build());
    fresh.setStatus(status);
    return fresh;
  }
}
