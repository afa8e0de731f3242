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
                             FilterChainConfig defaultChain, Sniffing sniffing) {

  /**
   * The listener filters that read a connection's first bytes before its chain is chosen. Each runs only
   * when configured and some chain matches on what it finds, so a listener whose chains match on ports
   * and addresses alone never waits for a client that speaks second.
   *
   * @param timeoutMillis {@code listener_filters_timeout}, 0 for none
   * @param continueOnTimeout {@code continue_on_listener_filters_timeout}: on timeout, match with what is known
   */
  public record Sniffing(boolean tls, boolean http, long timeoutMillis, boolean continueOnTimeout) {
    public boolean active() {
      return tls || http;
    }
  }

  /** Whether a connection to {@code destination} waits for the listener filters: only when their findings can choose its chain. */
  public boolean inspects(InetSocketAddress destination) {
    return sniffing.active() && chains.inspectsFor(destination);
  }

  /** The chain for a connection: the matching one, else the default chain, else none. */
  public Optional<FilterChainConfig> chainFor(FilterChainMatcher.Connection connection) {
    Optional<FilterChainConfig> matched = chains.match(connection);
    return matched.isPresent() ? matched : Optional.ofNullable(defaultChain);
  }
}
