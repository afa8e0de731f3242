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
 * <p>Built once per configuration into a tree of hash maps, one level per criterion, so a match costs a
 * bounded number of lookups however many chains there are. Two chains with the same match land on the
 * same leaf, which makes the listener invalid, as in Envoy.
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

  private static final int SERVER_NAMES = 2;
  private static final int TRANSPORT_PROTOCOL = 3;
  private static final int APPLICATION_PROTOCOLS = 4;

  private final Node root;
  // the criteria that some chain sets: a listener filter that feeds none of them need not run
  private final boolean[] used;

  private FilterChainMatcher(Node root, boolean[] used) {
    this.root = root;
    this.used = used;
  }

  public boolean usesServerNames() {
    return used[SERVER_NAMES];
  }

  public boolean usesTransportProtocol() {
    return used[TRANSPORT_PROTOCOL];
  }

  public boolean usesApplicationProtocols() {
    return used[APPLICATION_PROTOCOLS];
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
    boolean[] used = new boolean[LEVELS];
    for (int i = 0; i < chains.size(); i++) {
      String at = path + "[" + i + "].filter_chain_match";
      List<List<Object>> keys = keys(matches.get(i), at, problems);
      if (keys != null) {
        for (int level = 0; level < LEVELS; level++) {
          used[level] |= !keys.get(level).equals(List.of(ANY));
        }
        insert(root, keys, 0, new Leaf(i, chains.get(i)), at, path, problems);
      }
    }
    if (!problems.isEmpty()) {
      // a chain with several values per criterion can collide on several leaves: say it once
      throw new ConfigException(problems.stream().distinct().toList());
    }
    root.freeze();
    return new FilterChainMatcher<>(root, used);
  }

  /**
   * Whether what the listener filters find (server name, transport and application protocols) can change the chain of
   * a connection to {@code destination}: false when the chains its port and address lead to set none of them — then a
   * protocol whose server speaks first is not held until the filters time out (Istio disables the inspectors per port
   * with {@code filter_disabled} for the same reason).
   */
  public boolean inspectsFor(InetSocketAddress destination) {
    Node n = byPort(root, destination == null ? 0 : destination.getPort());
    n = n == null ? null : byPrefix(n, destination);
    for (int level = SERVER_NAMES; n != null && level <= APPLICATION_PROTOCOLS; level++) {
      if (n.children.keySet().stream().anyMatch(k -> !ANY.equals(k))) {
        return true;
      }
      n = n.children.get(ANY);
    }
    return false;
  }

  /** The chain for {@code c}, or empty when none matches. */
  @SuppressWarnings("unchecked")
  public Optional<T> match(Connection c) {
    Node n = root;
    n = n == null ? null : byPort(n, c.destination() == null ? 0 : c.destination().getPort());
    n = n == null ? null : byPrefix(n, c.destination());
    n = n == null ? null : byServerName(n, c.serverName());
    n = n == null ? null : exactOrAny(n, c.transportProtocol());
    n = n == null ? null : byApplicationProtocol(n, c.applicationProtocols());
    n = n == null ? null : byPrefix(n, c.directSource());
    n = n == null ? null : bySourceType(n, c);
    n = n == null ? null : byPrefix(n, c.source());
    n = n == null ? null : byPort(n, c.source() == null ? 0 : c.source().getPort());
    return n == null ? Optional.empty() : Optional.of((T) n.leaf.chain);
  }

  private static Node byPort(Node n, int port) {
    Node exact = n.children.get(port);
    return exact != null ? exact : n.children.get(0);
  }

  private static Node exactOrAny(Node n, String value) {
    Node exact = n.children.get(value);
    return exact != null ? exact : n.children.get(ANY);
  }

  private static Node byServerName(Node n, String name) {
    Node exact = n.children.get(name);
    if (exact != null) {
      return exact;
    }
    // longest wildcard suffix first: www.a.example.com tries *.a.example.com, *.example.com, *.com
    for (int dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
      Node wildcard = n.children.get("*" + name.substring(dot));
      if (wildcard != null) {
        return wildcard;
      }
    }
    return n.children.get(ANY);
  }

  private static Node byApplicationProtocol(Node n, List<String> offered) {
    // the connection's protocols in its order of preference; the first that some chain names wins
    for (String protocol : offered) {
      Node exact = n.children.get(protocol);
      if (exact != null) {
        return exact;
      }
    }
    return n.children.get(ANY);
  }

  private static Node bySourceType(Node n, Connection c) {
    Node local = n.children.get(ConnectionSourceType.SAME_IP_OR_LOOPBACK);
    Node external = n.children.get(ConnectionSourceType.EXTERNAL);
    if (local != null || external != null) {
      Node typed = isLocal(c) ? local : external;
      if (typed != null) {
        return typed;
      }
    }
    return n.children.get(ConnectionSourceType.ANY);
  }

  /** Envoy's SAME_IP_OR_LOOPBACK: the source is a loopback address or the destination's own address. */
  private static boolean isLocal(Connection c) {
    if (c.directSource() == null) {
      return false;
    }
    InetAddress source = c.directSource().getAddress();
    return source.isLoopbackAddress() || (c.destination() != null && source.equals(c.destination().getAddress()));
  }

  private static Node byPrefix(Node n, InetSocketAddress address) {
    if (address != null && address.getAddress() != null) {
      byte[] bytes = address.getAddress().getAddress();
      int[] lengths = bytes.length == 4 ? n.v4Lengths : n.v6Lengths;
      for (int len : lengths) {
        Node hit = n.children.get(new Prefix(bytes, len));
        if (hit != null) {
          return hit;
        }
      }
    }
    return n.children.get(ANY);
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

  private static final class Node {
    final Map<Object, Node> children = new HashMap<>();
    Leaf leaf;
    int[] v4Lengths = new int[0];
    int[] v6Lengths = new int[0];

    /** After the last insert: the prefix lengths present at IP levels, longest first. */
    void freeze() {
      TreeSet<Integer> v4 = new TreeSet<>();
      TreeSet<Integer> v6 = new TreeSet<>();
      for (Object key : children.keySet()) {
        if (key instanceof Prefix p) {
          (p.bytes.length == 4 ? v4 : v6).add(p.length);
        }
      }
      v4Lengths = v4.descendingSet().stream().mapToInt(Integer::intValue).toArray();
      v6Lengths = v6.descendingSet().stream().mapToInt(Integer::intValue).toArray();
      for (Node child : children.values()) {
        child.freeze();
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
