package io.vmesh.proxy.listener;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch.ConnectionSourceType;
import io.netty.util.NetUtil;
import io.vmesh.proxy.config.ConfigException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Picks a listener's filter chain the way Envoy does ({@code FilterChainMatch}): the chains are narrowed
 * criterion by criterion — destination port, destination IP (longest prefix), server name (exact, then
 * the longest wildcard suffix), transport protocol, application protocols, direct source IP, source type,
 * source IP (longest prefix), source port — and at each step only the most specific candidates that
 * match go on; an unset criterion matches anything but loses to any set one that matches. There is no
 * backtracking: when the most specific branch has nothing further down, nothing matches (the caller then
 * uses the listener's default chain).
 *
 * <p>Built once per configuration: first a tree of hash maps, one level per criterion (two chains with
 * the same match land on the same leaf, which makes the listener invalid, as in Envoy), then frozen into
 * a compact index in which a level that no chain below it sets is skipped, ports are open-addressed
 * {@code int} tables and address ranges are one table of masked addresses probed once per prefix length
 * present (longest first). A match therefore costs a bounded number of probes — at most one per
 * criterion, plus one per distinct prefix length or wildcard label — whatever the number of chains, and
 * touches few objects, so a large index stays fast once it no longer fits in the CPU's cache.
 *
 * @param <T> what a chain is to the caller
 */
public final class FilterChainMatcher<T> {

  /** What is known of a connection when its chain is chosen; unknown strings are empty. */
  public record Connection(InetSocketAddress destination, InetSocketAddress directSource, InetSocketAddress source,
                           String serverName, String transportProtocol, List<String> applicationProtocols) {
    public Connection {
      serverName = serverName == null ? "" : serverName.toLowerCase(Locale.ROOT);
      transportProtocol = transportProtocol == null ? "" : transportProtocol;
      applicationProtocols = applicationProtocols == null ? List.of() : List.copyOf(applicationProtocols);
    }

    /** A plain TCP connection: no SNI, no ALPN, transport {@code raw_buffer}, the peer is the source. */
    public static Connection tcp(InetSocketAddress destination, InetSocketAddress source) {
      return new Connection(destination, source, source, "", "raw_buffer", List.of());
    }
  }

  private static final int LEVELS = 9;
  private static final String ANY = "";

  // the criteria in Envoy's order, one level of the index each
  private static final int DESTINATION_PORT = 0;
  private static final int DESTINATION_IP = 1;
  private static final int SERVER_NAMES = 2;
  private static final int TRANSPORT_PROTOCOL = 3;
  private static final int APPLICATION_PROTOCOLS = 4;
  private static final int DIRECT_SOURCE_IP = 5;
  private static final int SOURCE_TYPE = 6;
  private static final int SOURCE_IP = 7;
  private static final int SOURCE_PORT = 8;

  private final Step root;
  // which listener filters a destination needs: a listener filter that feeds no reachable chain need not run
  private final InspectionIndex inspection;

  private FilterChainMatcher(Step root, InspectionIndex inspection) {
    this.root = root;
    this.inspection = inspection;
  }

  /**
   * Which inspectors a connection to {@code destination} needs before its chain can be chosen: what the
   * chains it can still reach by destination port and IP match on (see {@link InspectionIndex}).
   */
  public InspectionIndex.Needs needsInspection(InetSocketAddress destination) {
    return inspection.needs(destination);
  }

  /**
   * Indexes {@code chains}; {@code matches.get(i)} is chain i's match. Refuses bad values and two chains
   * with the same match, naming {@code path[i].filter_chain_match}.
   */
  public static <T> FilterChainMatcher<T> build(List<T> chains, List<FilterChainMatch> matches, String path)
      throws ConfigException {
    if (chains.size() != matches.size()) {
      throw new IllegalArgumentException("one match per chain");
    }
    List<String> problems = new ArrayList<>();
    Node root = new Node();
    InspectionIndex inspection = new InspectionIndex(ANY);
    for (int i = 0; i < chains.size(); i++) {
      String at = path + "[" + i + "].filter_chain_match";
      List<List<Object>> keys = keys(matches.get(i), at, problems);
      if (keys != null) {
        insert(root, keys, 0, new Leaf(i, chains.get(i)), at, path, problems);
        inspection.add(keys, List.of(ANY));
      }
    }
    if (!problems.isEmpty()) {
      // a chain with several values per criterion can collide on several leaves: say it once
      throw new ConfigException(problems.stream().distinct().toList());
    }
    return new FilterChainMatcher<>(root.children.isEmpty() ? null : freeze(root, 0), inspection.freeze());
  }

  /** The chain for {@code c}, or empty when none matches. */
  @SuppressWarnings("unchecked")
  public Optional<T> match(Connection c) {
    Step s = root;
    while (s != null && s.level < LEVELS) {
      s = switch (s.level) {
        case DESTINATION_PORT -> s.byPort(c.destination());
        case DESTINATION_IP -> s.byPrefix(c.destination());
        case SERVER_NAMES -> s.byServerName(c.serverName());
        case TRANSPORT_PROTOCOL -> s.exactOrAny(c.transportProtocol());
        case APPLICATION_PROTOCOLS -> s.byApplicationProtocol(c.applicationProtocols());
        case DIRECT_SOURCE_IP -> s.byPrefix(c.directSource());
        case SOURCE_TYPE -> s.bySourceType(c);
        case SOURCE_IP -> s.byPrefix(c.source());
        default -> s.byPort(c.source());
      };
    }
    return s == null ? Optional.empty() : Optional.of((T) s.chain);
  }

  /** Envoy's SAME_IP_OR_LOOPBACK: the source is a loopback address or the destination's own address. */
  private static boolean isLocal(Connection c) {
    if (c.directSource() == null) {
      return false;
    }
    InetAddress source = c.directSource().getAddress();
    return source.isLoopbackAddress() || (c.destination() != null && source.equals(c.destination().getAddress()));
  }

  /** The keys of one chain at each level: a list of values, or the ANY key when the criterion is unset. */
  private static List<List<Object>> keys(FilterChainMatch m, String at, List<String> problems) {
    int before = problems.size();
    List<List<Object>> keys = new ArrayList<>(LEVELS);
    if (m.hasDestinationPort()) {
      int port = m.getDestinationPort().getValue();
      if (port < 1 || port > 65535) {
        problems.add(ConfigException.at(at + ".destination_port", "must be between 1 and 65535, got " + port));
      }
      keys.add(List.of(port));
    } else {
      keys.add(List.of(0));
    }
    keys.add(prefixes(m.getPrefixRangesList(), at + ".prefix_ranges", problems));
    List<Object> names = new ArrayList<>();
    for (int i = 0; i < m.getServerNamesCount(); i++) {
      String name = m.getServerNames(i).toLowerCase(Locale.ROOT);
      if (!validServerName(name)) {
        problems.add(ConfigException.at(at + ".server_names[" + i + "]", "'" + m.getServerNames(i)
            + "' is not a host name or a leading wildcard like *.example.com"));
      }
      names.add(name);
    }
    keys.add(names.isEmpty() ? List.of(ANY) : names);
    keys.add(List.of(m.getTransportProtocol()));
    keys.add(m.getApplicationProtocolsCount() == 0 ? List.of(ANY) : List.copyOf(m.getApplicationProtocolsList()));
    keys.add(prefixes(m.getDirectSourcePrefixRangesList(), at + ".direct_source_prefix_ranges", problems));
    if (m.getSourceType() == ConnectionSourceType.UNRECOGNIZED) {
      problems.add(ConfigException.at(at + ".source_type", "unknown value " + m.getSourceTypeValue()));
    }
    keys.add(List.of(m.getSourceType()));
    keys.add(prefixes(m.getSourcePrefixRangesList(), at + ".source_prefix_ranges", problems));
    List<Object> ports = new ArrayList<>();
    for (int i = 0; i < m.getSourcePortsCount(); i++) {
      int port = m.getSourcePorts(i);
      if (port < 1 || port > 65535) {
        problems.add(ConfigException.at(at + ".source_ports[" + i + "]", "must be between 1 and 65535, got " + port));
      }
      ports.add(port);
    }
    keys.add(ports.isEmpty() ? List.of(0) : ports);
    return problems.size() == before ? keys : null;
  }

  private static boolean validServerName(String name) {
    String host = name.startsWith("*.") ? name.substring(2) : name;
    return !host.isEmpty() && host.indexOf('*') < 0 && !host.startsWith(".") && !host.endsWith(".");
  }

  private static List<Object> prefixes(List<CidrRange> ranges, String at, List<String> problems) {
    if (ranges.isEmpty()) {
      return List.of(ANY);
    }
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < ranges.size(); i++) {
      try {
        out.add(Prefix.of(ranges.get(i)));
      } catch (IllegalArgumentException e) {
        problems.add(ConfigException.at(at + "[" + i + "]", e.getMessage()));
      }
    }
    return out;
  }

  private static void insert(Node node, List<List<Object>> keys, int level, Leaf leaf, String at,
                             String chainsPath, List<String> problems) {
    if (level == LEVELS) {
      if (node.leaf != null) {
        problems.add(ConfigException.at(at, "matches the same connections as " + chainsPath + "[" + node.leaf.index
            + "] (two chains with the same match make the listener invalid)"));
      } else {
        node.leaf = leaf;
      }
      return;
    }
    for (Object key : keys.get(level)) {
      insert(node.children.computeIfAbsent(key, k -> new Node()), keys, level + 1, leaf, at, chainsPath, problems);
    }
  }

  private record Leaf(int index, Object chain) {
  }

  /** The build-time tree: children keyed by the criterion of the node's level (ANY when unset). */
  private static final class Node {
    final Map<Object, Node> children = new HashMap<>();
    Leaf leaf;
  }

  private static Object anyKey(int level) {
    return switch (level) {
      case DESTINATION_PORT, SOURCE_PORT -> 0;
      case SOURCE_TYPE -> ConnectionSourceType.ANY;
      default -> ANY;
    };
  }

  /** {@code n}'s subtree as a {@link Step} for criterion {@code level}, skipping levels that only hold ANY. */
  private static Step freeze(Node n, int level) {
    while (level < LEVELS && n.children.size() == 1 && n.children.containsKey(anyKey(level))) {
      n = n.children.get(anyKey(level));
      level++;
    }
    Step s = new Step(level, n.leaf == null ? null : n.leaf.chain);
    if (level == LEVELS) {
      return s;
    }
    Map<Integer, Step> ports = new HashMap<>();
    Map<Prefix, Step> prefixes = new HashMap<>();
    Map<String, Step> exact = new HashMap<>();
    Map<String, Step> wildcards = new HashMap<>();
    for (Map.Entry<Object, Node> e : n.children.entrySet()) {
      Object key = e.getKey();
      Step child = freeze(e.getValue(), level + 1);
      if (key.equals(anyKey(level))) {
        s.any = child;
      } else if (key instanceof Integer port) {
        ports.put(port, child);
      } else if (key instanceof Prefix p) {
        prefixes.put(p, child);
      } else if (key == ConnectionSourceType.SAME_IP_OR_LOOPBACK) {
        s.local = child;
      } else if (key == ConnectionSourceType.EXTERNAL) {
        s.external = child;
      } else if (level == SERVER_NAMES && ((String) key).startsWith("*.")) {
        wildcards.put(((String) key).substring(1), child); // keyed by the suffix with its dot: ".example.com"
      } else {
        exact.put((String) key, child);
      }
    }
    s.ports = ports.isEmpty() ? null : new PortTable(ports);
    s.prefixes = prefixes.isEmpty() ? null : new PrefixTable(prefixes);
    s.exact = exact.isEmpty() ? Map.of() : Map.copyOf(exact);
    s.wildcards = wildcards.isEmpty() ? null : Map.copyOf(wildcards);
    return s;
  }

  /** One level of the frozen index: the criterion {@link #level} decides among the children, ANY last. */
  private static final class Step {
    final int level; // LEVELS at a leaf
    final Object chain;
    Step any;
    PortTable ports;
    PrefixTable prefixes;
    Map<String, Step> exact = Map.of();
    Map<String, Step> wildcards; // server names: by suffix, ".example.com" for *.example.com
    Step local;
    Step external;

    Step(int level, Object chain) {
      this.level = level;
      this.chain = chain;
    }

    Step byPort(InetSocketAddress address) {
      Step hit = ports == null || address == null ? null : ports.get(address.getPort());
      return hit != null ? hit : any;
    }

    Step byPrefix(InetSocketAddress address) {
      Step hit = prefixes == null || address == null ? null : prefixes.longest(address.getAddress());
      return hit != null ? hit : any;
    }

    Step exactOrAny(String value) {
      Step hit = exact.get(value);
      return hit != null ? hit : any;
    }

    Step byServerName(String name) {
      Step hit = exact.get(name);
      if (hit != null) {
        return hit;
      }
      if (wildcards != null) {
        // longest wildcard suffix first: www.a.example.com tries *.a.example.com, *.example.com, *.com
        for (int dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
          hit = wildcards.get(name.substring(dot));
          if (hit != null) {
            return hit;
          }
        }
      }
      return any;
    }

    Step byApplicationProtocol(List<String> offered) {
      // the connection's protocols in its order of preference; the first that some chain names wins
      for (int i = 0; i < offered.size(); i++) {
        Step hit = exact.get(offered.get(i));
        if (hit != null) {
          return hit;
        }
      }
      return any;
    }

    Step bySourceType(Connection c) {
      if (local != null || external != null) {
        Step typed = isLocal(c) ? local : external;
        if (typed != null) {
          return typed;
        }
      }
      return any;
    }
  }

  /** Ports to steps, open addressing with linear probing: a probe is two array reads, no boxing. */
  private static final class PortTable {
    private final int[] keys;
    private final Step[] values;
    private final int mask;

    PortTable(Map<Integer, Step> entries) {
      int capacity = Integer.highestOneBit(Math.max(1, entries.size()) * 2) * 2; // load factor at most 1/2
      keys = new int[capacity];
      values = new Step[capacity];
      mask = capacity - 1;
      entries.forEach((port, step) -> {
        int i = slot(port);
        while (values[i] != null) {
          i = (i + 1) & mask;
        }
        keys[i] = port;
        values[i] = step;
      });
    }

    private int slot(int port) {
      int h = port * 0x9E3779B9;
      return (h ^ (h >>> 16)) & mask;
    }

    Step get(int port) {
      for (int i = slot(port); ; i = (i + 1) & mask) {
        Step v = values[i];
        if (v == null || keys[i] == port) {
          return v;
        }
      }
    }
  }

  /**
   * Address ranges to steps: every range is stored masked to its length, so the longest range holding an
   * address is found by masking the address to each length present, longest first, and probing. IPv4 and
   * IPv6 share the table; their lengths are kept apart ({@code V6} added), so neither matches the other.
   */
  private static final class PrefixTable {
    private static final int V6 = 256;
    private final int[] v4Lengths;
    private final int[] v6Lengths;
    private final long[] highs;
    private final long[] lows;
    private final int[] lengths;
    private final Step[] values;
    private final int mask;

    PrefixTable(Map<Prefix, Step> entries) {
      TreeSet<Integer> v4 = new TreeSet<>();
      TreeSet<Integer> v6 = new TreeSet<>();
      int capacity = Integer.highestOneBit(entries.size() * 2) * 2;
      highs = new long[capacity];
      lows = new long[capacity];
      lengths = new int[capacity];
      values = new Step[capacity];
      mask = capacity - 1;
      entries.forEach((p, step) -> {
        boolean isV4 = p.bytes.length == 4;
        (isV4 ? v4 : v6).add(p.length);
        long high = isV4 ? 0 : word(p.bytes, 0);
        long low = isV4 ? word4(p.bytes) : word(p.bytes, 8);
        int length = isV4 ? p.length : V6 + p.length;
        int i = slot(high, low, length);
        while (values[i] != null) {
          i = (i + 1) & mask;
        }
        highs[i] = high;
        lows[i] = low;
        lengths[i] = length;
        values[i] = step;
      });
      v4Lengths = v4.descendingSet().stream().mapToInt(Integer::intValue).toArray();
      v6Lengths = v6.descendingSet().stream().mapToInt(Integer::intValue).toArray();
    }

    Step longest(InetAddress address) {
      if (address == null) {
        return null;
      }
      byte[] bytes = address.getAddress();
      if (bytes.length == 4) {
        long low = word4(bytes);
        for (int length : v4Lengths) {
          Step hit = get(0, length == 0 ? 0 : low & (0xffffffffL << (32 - length)) & 0xffffffffL, length);
          if (hit != null) {
            return hit;
          }
        }
      } else {
        long high = word(bytes, 0);
        long low = word(bytes, 8);
        for (int length : v6Lengths) {
          Step hit = get(high & mask64(length), low & mask64(length - 64), V6 + length);
          if (hit != null) {
            return hit;
          }
        }
      }
      return null;
    }

    /** The first {@code bits} bits of a 64-bit word set (none when {@code bits <= 0}, all from 64). */
    private static long mask64(int bits) {
      return bits <= 0 ? 0 : bits >= 64 ? -1L : -1L << (64 - bits);
    }

    private static long word4(byte[] b) {
      return ((b[0] & 0xffL) << 24) | ((b[1] & 0xffL) << 16) | ((b[2] & 0xffL) << 8) | (b[3] & 0xffL);
    }

    private static long word(byte[] b, int from) {
      long w = 0;
      for (int i = from; i < from + 8; i++) {
        w = (w << 8) | (b[i] & 0xffL);
      }
      return w;
    }

    private int slot(long high, long low, int length) {
      long h = (high * 31 + low) * 0x9E3779B97F4A7C15L + length;
      return (int) (h ^ (h >>> 32)) & mask;
    }

    private Step get(long high, long low, int length) {
      for (int i = slot(high, low, length); ; i = (i + 1) & mask) {
        Step v = values[i];
        if (v == null || (lows[i] == low && highs[i] == high && lengths[i] == length)) {
          return v;
        }
      }
    }
  }

  /** An address masked to its prefix length: equal keys for every address inside the range. */
  static final class Prefix {
    final byte[] bytes;
    final int length;
    private final int hash;

    Prefix(byte[] address, int length) {
      this.bytes = new byte[address.length];
      this.length = length;
      for (int i = 0; i < address.length; i++) {
        int bits = Math.max(0, Math.min(8, length - 8 * i));
        bytes[i] = (byte) (address[i] & (0xff00 >> bits));
      }
      this.hash = Arrays.hashCode(bytes) * 31 + length;
    }

    static Prefix of(CidrRange range) {
      byte[] address = NetUtil.createByteArrayFromIpAddressString(range.getAddressPrefix());
      if (address == null) {
        throw new IllegalArgumentException("'" + range.getAddressPrefix() + "' is not an IP address");
      }
      // Envoy: an unset prefix_len is 0, the whole address family
      int length = range.getPrefixLen().getValue();
      if (length > address.length * 8) {
        throw new IllegalArgumentException("prefix_len " + length + " is longer than the address (" + address.length * 8 + " bits)");
      }
      return new Prefix(address, length);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Prefix p && p.length == length && Arrays.equals(p.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }
}
