package io.vmesh.proxy.listener;

import io.vmesh.proxy.accesslog.AccessLogger;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * A listener as the proxy runs it. {@code bindToPort} false: it only receives connections handed off by
 * a {@code useOriginalDst} listener. {@code readsOriginalDst}: chains are matched against the address the
 * connection was originally sent to (use_original_dst or the original_dst listener filter), not the
 * listener's own. {@code accessLogs}: its {@code access_log}, for connections that end before a filter
 * chain serves them (empty: the default log).
 */
public record ListenerConfig(String name, InetSocketAddress address, boolean bindToPort, boolean useOriginalDst,
                             boolean readsOriginalDst, FilterChainMatcher<FilterChainConfig> chains,
                             FilterChainConfig defaultChain, Sniffing sniffing, List<AccessLogger> accessLogs) {

  /**
   * The listener filters configured to read a connection's first bytes before its chain is chosen. Each
   * runs only where a chain that the connection's destination can still reach matches on what it finds
   * ({@link FilterChainMatcher#needsInspection}), so a destination whose chains match on ports and
   * addresses alone never waits for a client that speaks second.
   *
   * @param timeoutMillis {@code listener_filters_timeout}, 0 for none
   * @param continueOnTimeout {@code continue_on_listener_filters_timeout}: on timeout, match with what is known
   */
  public record Sniffing(boolean tls, boolean http, long timeoutMillis, boolean continueOnTimeout) {
  }

  /** The chain for a connection: the matching one, else the default chain, else none. */
  public Optional<FilterChainConfig> chainFor(FilterChainMatcher.Connection connection) {
    Optional<FilterChainConfig> matched = chains.match(connection);
    return matched.isPresent() ? matched : Optional.ofNullable(defaultChain);
  }
}
