package io.vmesh.proxy.listener;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Which listener filters a connection needs, from what is known before a byte is read. The matcher
 * narrows by destination port, then destination IP, before it looks at server name, transport protocol
 * and application protocols (what tls_inspector and http_inspector find), so the chains a connection can
 * still reach once its destination is known decide: when none of them matches on what an inspector finds,
 * that inspector need not run — and a server-first protocol on such a port never waits for the client.
 * Built with the {@link FilterChainMatcher} from the same keys, and mirrors its first two steps (most
 * specific port, then longest prefix, no backtracking); a lookup costs what those two steps cost.
 */
final class InspectionIndex {

  /** The inspectors a connection needs: tls_inspector for any of the three, http_inspector for application protocols. */
  public record Needs(boolean serverNames, boolean transportProtocol, boolean applicationProtocols) {

    public static final Needs NONE = new Needs(false, false, false);

    public boolean tls() {
      return serverNames || transportProtocol || applicationProtocols;
    }

    public boolean http() {
      return applicationProtocols;
    }
  }

  private static final int SERVER_NAMES = 1;
  private static final int TRANSPORT_PROTOCOL = 2;
  private static final int APPLICATION_PROTOCOLS = 4;
  private static final Needs[] BY_MASK = new Needs[8];

  static {
    for (int m = 0; m < BY_MASK.length; m++) {
      BY_MASK[m] = new Needs((m & SERVER_NAMES) != 0, (m & TRANSPORT_PROTOCOL) != 0, (m & APPLICATION_PROTOCOLS) != 0);
    }
  }

  /** The chains of one destination port (0: any), by destination prefix (or ANY), as a mask of what they match on. */
  private static final class ByPrefix {
    final Map<Object, Integer> masks = new HashMap<>();
    int[] v4Lengths = new int[0];
    int[] v6Lengths = new int[0];
  }

  private final Map<Object, ByPrefix> byPort = new HashMap<>();
  private final Object any;

  /** @param any the key the matcher uses for an unset prefix criterion */
  InspectionIndex(Object any) {
    this.any = any;
  }

  /**
   * Adds one chain by its matcher keys: level 0 its destination port (0 for any), level 1 its prefixes,
   * levels 2 to 4 server names, transport protocol and application protocols ({@code unset} when not set).
   */
  void add(List<List<Object>> keys, List<Object> unset) {
    int mask = (keys.get(2).equals(unset) ? 0 : SERVER_NAMES)
        | (keys.get(3).equals(unset) ? 0 : TRANSPORT_PROTOCOL)
        | (keys.get(4).equals(unset) ? 0 : APPLICATION_PROTOCOLS);
    ByPrefix prefixes = byPort.computeIfAbsent(keys.get(0).get(0), k -> new ByPrefix());
    for (Object prefix : keys.get(1)) {
      prefixes.masks.merge(prefix, mask, (a, b) -> a | b);
    }
  }

  /** After the last {@link #add}: the prefix lengths present per port, longest first. */
  InspectionIndex freeze() {
    for (ByPrefix p : byPort.values()) {
      TreeSet<Integer> v4 = new TreeSet<>();
      TreeSet<Integer> v6 = new TreeSet<>();
      for (Object key : p.masks.keySet()) {
        if (key instanceof FilterChainMatcher.Prefix prefix) {
          (prefix.bytes.length == 4 ? v4 : v6).add(prefix.length);
        }
      }
      p.v4Lengths = v4.descendingSet().stream().mapToInt(Integer::intValue).toArray();
      p.v6Lengths = v6.descendingSet().stream().mapToInt(Integer::intValue).toArray();
    }
    return this;
  }

  /** What the chains that a connection to {@code destination} can still match need the inspectors for. */
  Needs needs(InetSocketAddress destination) {
    int port = destination == null ? 0 : destination.getPort();
    ByPrefix prefixes = byPort.get(port);
    if (prefixes == null) {
      prefixes = byPort.get(0);
    }
    if (prefixes == null) {
      return Needs.NONE;
    }
    if (destination != null && destination.getAddress() != null) {
      byte[] bytes = destination.getAddress().getAddress();
      for (int len : bytes.length == 4 ? prefixes.v4Lengths : prefixes.v6Lengths) {
        Integer mask = prefixes.masks.get(new FilterChainMatcher.Prefix(bytes, len));
        if (mask != null) {
          return BY_MASK[mask];
        }
      }
    }
    Integer mask = prefixes.masks.get(any);
    return mask == null ? Needs.NONE : BY_MASK[mask];
  }
}
