package io.vmesh.proxy.capture;

import java.io.IOException;
import java.util.List;

/**
 * The inbound passthrough's source address on {@code lo}. IPv4 needs nothing (all of 127.0.0.0/8 is local), but
 * {@code ::6} is not an address of the namespace until added: without it the proxy cannot bind it, and its IPv6
 * inbound connections to the app would have to come from the pod's own address, which capture takes again.
 */
final class PassthroughSource {

  private final Family family;

  PassthroughSource(Family family) {
    this.family = family;
  }

  /** The address with its prefix length, as {@code ip addr} takes it; null when the family needs none. */
  String address() {
    return family == Family.IPV6 ? family.passthroughSource() : null;
  }

  List<String> addCommands() {
    // nodad: duplicate address detection would hold it "tentative" (unbindable) for a second or more
    return address() == null ? List.of() : List.of("ip " + family.ipFlag() + " addr add " + address() + " dev lo nodad");
  }

  boolean present() throws IOException {
    return Iptables.run(List.of("ip", family.ipFlag(), "-o", "addr", "show", "dev", "lo"), null).contains(" " + address() + " ");
  }

  /** Adds it when missing; true when it was added. */
  boolean ensure() throws IOException {
    if (address() == null || present()) {
      return false;
    }
    Iptables.run(List.of("ip", family.ipFlag(), "addr", "add", address(), "dev", "lo", "nodad"), null);
    return true;
  }

  /** Removes it when there; true when it was removed. */
  boolean remove() throws IOException {
    if (address() == null || !present()) {
      return false;
    }
    Iptables.run(List.of("ip", family.ipFlag(), "addr", "del", address(), "dev", "lo"), null);
    return true;
  }
}
