package io.vmesh.proxy.admin;

/** The proxy's life, as Envoy's {@code server.state} gauge numbers it. */
public enum ServerState {
  LIVE(0), DRAINING(1), PRE_INITIALIZING(2);

  private final int gauge;

  ServerState(int gauge) {
    this.gauge = gauge;
  }

  /** Envoy's value of {@code server.state}. */
  public int gauge() {
    return gauge;
  }
}
