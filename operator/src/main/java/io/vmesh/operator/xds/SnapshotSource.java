package io.vmesh.operator.xds;

import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Where the ADS server gets each proxy's config: the generator's view of the cluster (informer caches),
 * already debounced. The server asks for a proxy's snapshot when it connects and again for each proxy named
 * in a change notification.
 */
public interface SnapshotSource {

  /** Empty when the pod is unknown (not in the informer cache yet, or not injected): the server sends nothing. */
  Optional<ProxySnapshot> snapshot(ProxyId proxy);

  /** Called, off any event loop, with the proxies whose snapshot may have changed after a debounced batch of events. */
  void onChange(Consumer<Set<ProxyId>> listener);
}
