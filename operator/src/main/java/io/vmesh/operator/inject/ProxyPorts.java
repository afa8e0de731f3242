package io.vmesh.operator.inject;

import java.util.List;

/** The sidecar's well-known ports and ids (Istio's values, docs/injection.md); an application port among them is refused. */
public final class ProxyPorts {

  public static final int ADMIN = 15000;
  public static final int OUTBOUND = 15001;
  public static final int INBOUND = 15006;
  public static final int HEALTH = 15021;
  public static final int PROMETHEUS = 15090;
  public static final int PROXY_UID = 1337;
  public static final List<Integer> ALL = List.of(ADMIN, OUTBOUND, INBOUND, HEALTH, PROMETHEUS);

  private ProxyPorts() {
  }
}
