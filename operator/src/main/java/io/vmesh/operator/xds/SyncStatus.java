package io.vmesh.operator.xds;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The sync state of every connected proxy, written by the ADS streams and read by proxy-status, the debug endpoint
 * and the MeshPolicy status. Listeners hear of a proxy only when its overall state changes (or it comes or goes),
 * so a policy's status is not recomputed for every ACK of an unchanged state.
 */
public final class SyncStatus {

  private final Map<ProxyId, ProxySync> proxies = new ConcurrentHashMap<>();
  private final List<Consumer<ProxyId>> listeners = new CopyOnWriteArrayList<>();

  public Optional<ProxySync> of(ProxyId proxy) {
    return Optional.ofNullable(proxies.get(proxy));
  }

  /** Every connected proxy, by namespace then pod name. */
  public List<ProxySync> all() {
    return proxies.values().stream()
        .sorted(Comparator.comparing((ProxySync p) -> p.proxy().namespace()).thenComparing(p -> p.proxy().podName()))
        .toList();
  }

  /** The proxy's overall state; NOT_SENT for a proxy that is not connected. */
  public SyncState stateOf(ProxyId proxy) {
    ProxySync sync = proxies.get(proxy);
    return sync == null ? SyncState.NOT_SENT : sync.overall();
  }

  /** Called with the proxy whose overall state changed, on the stream's event loop: listeners must not block. */
  public void onChange(Consumer<ProxyId> listener) {
    listeners.add(listener);
  }

  void put(ProxySync next) {
    ProxySync before = proxies.put(next.proxy(), next);
    if (before == null || before.overall() != next.overall()) {
      notify(next.proxy());
    }
  }

  /** Removes the proxy's entry if it is still the one {@code stream} wrote (a reconnected stream may have replaced it). */
  void remove(ProxyId proxy, ProxySync last) {
    if (proxies.remove(proxy, last)) {
      notify(proxy);
    }
  }

  private void notify(ProxyId proxy) {
    listeners.forEach(l -> l.accept(proxy));
  }
}
