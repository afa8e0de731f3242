package io.vmesh.proxy.listener;

import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * A listener as the proxy runs it. {@code bindToPort} false: it only receives connections handed off by
 * a {@code useOriginalDst} listener. {@code readsOriginalDst}: chains are matched against the address the
 * connection was originally sent to (use_original_dst or the original_dst listener filter), not the
 * listener's own.
 */
public record ListenerConfig(String name, InetSocketAddress address, boolean bindToPort, boolean useOriginalDst,
                             boolean readsOriginalDst, FilterChainMatcher<FilterChainConfig> chains,
                             FilterChainConfig defaultChain) {

  /** The chain for a connection: the matching one, else the default chain, else none. */
  public Optional<FilterChainConfig> chainFor(FilterChainMatcher.Connection connection) {
    Optional<FilterChainConfig> matched = chains.match(connection);
    return matched.isPresent() ? matched : Optional.ofNullable(defaultChain);
  }
}
