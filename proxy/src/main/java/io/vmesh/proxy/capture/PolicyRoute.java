package io.vmesh.proxy.capture;

import java.io.IOException;
import java.util.List;

/**
 * TPROXY's policy route for one family: packets marked 1337 look up table 133, whose only route says
 * every destination is local, so a diverted packet is delivered to the proxy's transparent socket
 * instead of being forwarded.
 */
final class PolicyRoute {

  private final Family family;

  PolicyRoute(Family family) {
    this.family = family;
  }

  List<String> addCommands() {
    return List.of(
        "ip " + family.ipFlag() + " rule add fwmark " + CaptureRules.TPROXY_MARK + " lookup " + CaptureRules.TPROXY_ROUTE_TABLE,
        "ip " + family.ipFlag() + " route add local default dev lo table " + CaptureRules.TPROXY_ROUTE_TABLE);
  }

  boolean rulePresent() throws IOException {
    return Iptables.run(List.of("ip", family.ipFlag(), "rule", "show"), null)
        .contains("fwmark 0x" + Integer.toHexString(CaptureRules.TPROXY_MARK) + " lookup " + CaptureRules.TPROXY_ROUTE_TABLE);
  }

  boolean routePresent() {
    try {
      return Iptables.run(List.of("ip", family.ipFlag(), "route", "show", "table", String.valueOf(CaptureRules.TPROXY_ROUTE_TABLE)), null)
          .contains("local default dev lo");
    } catch (IOException e) {
      return false; // "FIB table does not exist": no route of ours either
    }
  }

  /** Adds what is missing; true when something was added. */
  boolean ensure() throws IOException {
    boolean changed = false;
    if (!rulePresent()) {
      ip("rule", "add", "fwmark", String.valueOf(CaptureRules.TPROXY_MARK), "lookup", String.valueOf(CaptureRules.TPROXY_ROUTE_TABLE));
      changed = true;
    }
    if (!routePresent()) {
      ip("route", "add", "local", "default", "dev", "lo", "table", String.valueOf(CaptureRules.TPROXY_ROUTE_TABLE));
      changed = true;
    }
    return changed;
  }

  /** Removes what is there; true when something was removed. */
  boolean remove() throws IOException {
    boolean changed = false;
    if (rulePresent()) {
      ip("rule", "del", "fwmark", String.valueOf(CaptureRules.TPROXY_MARK), "lookup", String.valueOf(CaptureRules.TPROXY_ROUTE_TABLE));
      changed = true;
    }
    if (routePresent()) {
      ip("route", "del", "local", "default", "dev", "lo", "table", String.valueOf(CaptureRules.TPROXY_ROUTE_TABLE));
      changed = true;
    }
    return changed;
  }

  private void ip(String... args) throws IOException {
    List<String> cmd = new java.util.ArrayList<>(List.of("ip", family.ipFlag()));
    cmd.addAll(List.of(args));
    Iptables.run(cmd, null);
  }
}
