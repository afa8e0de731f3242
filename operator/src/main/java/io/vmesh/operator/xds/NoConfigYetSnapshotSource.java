package io.vmesh.operator.xds;

import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A source that knows no pod, so the ADS server accepts and tracks proxies but sends them nothing. Stands in until
 * the config generator ({@code ClusterStateSnapshotSource}) is wired in {@code RunCommand}.
 */
public final class NoConfigYetSnapshotSource implements SnapshotSource {

  @Override
  public Optional<ProxySnapshot> snapshot(ProxyId proxy) {
    return Optional.empty();
  }

  @Override
  public void onChange(Consumer<Set<ProxyId>> listener) {
    // nothing ever changes
  }
}
