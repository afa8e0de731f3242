package io.vmesh.operator.policy;

import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.AbstractEventSource;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.xds.ProxyId;
import io.vmesh.operator.xds.SyncStatus;
import java.util.Set;
import java.util.function.Function;

/**
 * Tells the MeshPolicy controller when a proxy's overall sync state changes, naming the policies that may govern
 * it, so that {@code status.proxies} follows ACKs and NACKs at once rather than at the next periodic resync. JOSDK
 * coalesces the events of one policy, so a burst of ACKs costs one reconcile per policy.
 */
final class ProxySyncEventSource extends AbstractEventSource<ProxyId, MeshPolicy> {

  static final String NAME = "proxy-sync";

  ProxySyncEventSource(SyncStatus status, Function<ProxyId, Set<ResourceID>> policiesOf) {
    super(ProxyId.class, NAME);
    status.onChange(proxy -> {
      if (isRunning()) {
        policiesOf.apply(proxy).forEach(policy -> getEventHandler().handleEvent(new Event(policy)));
      }
    });
  }

  /** The reconciler reads the sync state itself, for the pods it finds governed: nothing to hand over here. */
  @Override
  public Set<ProxyId> getSecondaryResources(MeshPolicy primary) {
    return Set.of();
  }
}
