package io.vmesh.proxy.capture;

import java.util.List;

/**
 * What the capture rules are computed from. Only the outbound half exists so far; the inbound half,
 * TPROXY and IPv6 extend this record rather than replace it.
 *
 * @param outboundPort the proxy's virtualOutbound port, where captured outbound TCP is redirected
 * @param proxyUids    uids whose traffic is never captured (the proxy itself: the loop breaker)
 * @param proxyGids    gids whose traffic is never captured
 */
public record CaptureConfig(int outboundPort, List<Integer> proxyUids, List<Integer> proxyGids) {

  public static final int DEFAULT_OUTBOUND_PORT = 15001;
  public static final int DEFAULT_PROXY_ID = 1337;

  public CaptureConfig {
    requirePort("outbound port", outboundPort);
    proxyUids = List.copyOf(proxyUids);
    proxyGids = List.copyOf(proxyGids);
    if (proxyUids.isEmpty()) {
      throw new IllegalArgumentException("at least one proxy uid is required, or the proxy's own traffic loops back into it");
    }
    proxyUids.forEach(id -> requireId("proxy uid", id));
    proxyGids.forEach(id -> requireId("proxy gid", id));
  }

  public static CaptureConfig defaults() {
    return new CaptureConfig(DEFAULT_OUTBOUND_PORT, List.of(DEFAULT_PROXY_ID), List.of(DEFAULT_PROXY_ID));
  }

  private static void requirePort(String what, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(what + " must be between 1 and 65535, got " + port);
    }
  }

  private static void requireId(String what, int id) {
    if (id < 0) {
      throw new IllegalArgumentException(what + " must not be negative, got " + id);
    }
  }
}
