package io.vmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch.ConnectionSourceType;
import io.netty.util.NetUtil;
import io.vmesh.proxy.config.ConfigException;
import io.vmesh.proxy.listener.FilterChainMatcher.Connection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Filter chain selection, case by case from Envoy's documented semantics (listener_components.proto,
 * "Filter chain match"): criteria in a fixed order, the most specific match at each step, unset matches
 * anything, no backtracking, identical matches refused.
 */
class FilterChainMatcherTest {

  static Stream<Arguments> cases() {
    return Stream.of(
        // destination port: exact beats unset
        Arguments.of("port exact", List.of(m().port(8080), m()), tcp("10.0.0.1", 8080), "0"),
        Arguments.of("port unset catches others", List.of(m().port(8080), m()), tcp("10.0.0.1", 9090), "1"),
        Arguments.of("port set, no catch-all", List.of(m().port(8080)), tcp("10.0.0.1", 9090), null),
        // destination IP: longest prefix, then unset
        Arguments.of("longest prefix", List.of(m().prefix("10.0.0.0", 8), m().prefix("10.1.0.0", 16), m()),
            tcp("10.1.2.3", 80), "1"),
        Arguments.of("shorter prefix", List.of(m().prefix("10.0.0.0", 8), m().prefix("10.1.0.0", 16), m()),
            tcp("10.2.0.1", 80), "0"),
        Arguments.of("no prefix matches: unset", List.of(m().prefix("10.0.0.0", 8), m()), tcp("192.168.0.1", 80), "1"),
        Arguments.of("exact /32", List.of(m().prefix("10.0.0.0", 8), m().prefix("10.0.0.7", 32)), tcp("10.0.0.7", 80), "1"),
        Arguments.of("IPv6 prefix", List.of(m().prefix("fd00::", 8), m()), tcp("fd00::1", 80), "0"),
        Arguments.of("IPv4 prefix does not take IPv6", List.of(m().prefix("0.0.0.0", 0), m()), tcp("fd00::1", 80), "1"),
        Arguments.of("unset prefix_len is /0", List.of(m().prefixNoLen("10.9.9.9"), m().port(1)), tcp("172.16.0.1", 80), "0"),
        // port is decided before the address
        Arguments.of("port before prefix", List.of(m().port(80), m().prefix("10.0.0.0", 8)), tcp("10.0.0.1", 80), "0"),
        // no backtracking: the port-80 branch wins the first step, then has nothing for this address
        Arguments.of("no backtracking", List.of(m().port(80).prefix("192.168.0.0", 16), m().prefix("10.0.0.0", 8)),
            tcp("10.0.0.1", 80), null),
        // server names: exact, then the longest wildcard suffix, then unset
        Arguments.of("SNI exact", List.of(m().sni("www.example.com"), m().sni("*.example.com"), m().sni("*.com"), m()),
            tls("www.example.com"), "0"),
        Arguments.of("SNI wildcard", List.of(m().sni("www.example.com"), m().sni("*.example.com"), m().sni("*.com"), m()),
            tls("api.example.com"), "1"),
        Arguments.of("SNI longest wildcard", List.of(m().sni("*.example.com"), m().sni("*.com")), tls("a.b.example.com"), "0"),
        Arguments.of("SNI shorter wildcard", List.of(m().sni("*.example.com"), m().sni("*.com"), m()), tls("example.org.com"), "1"),
        Arguments.of("SNI no match: unset", List.of(m().sni("*.example.com"), m()), tls("example.org"), "1"),
        Arguments.of("wildcard does not match the bare domain", List.of(m().sni("*.example.com"), m()), tls("example.com"), "1"),
        Arguments.of("SNI is case-insensitive", List.of(m().sni("WWW.Example.com"), m()), tls("www.EXAMPLE.com"), "0"),
        Arguments.of("no SNI: only chains without server_names", List.of(m().sni("a.com")), tcp("10.0.0.1", 443), null),
        // transport protocol
        Arguments.of("transport tls", List.of(m().transport("tls"), m()), tls("x.com"), "0"),
        Arguments.of("transport raw_buffer", List.of(m().transport("tls"), m()), tcp("10.0.0.1", 443), "1"),
        // application protocols: the connection's first protocol that a chain names
        Arguments.of("ALPN h2", List.of(m().alpn("h2"), m().alpn("http/1.1"), m()), alpn("h2", "http/1.1"), "0"),
        Arguments.of("ALPN in the connection's order", List.of(m().alpn("h2"), m().alpn("http/1.1"), m()),
            alpn("http/1.1", "h2"), "1"),
        Arguments.of("ALPN none offered", List.of(m().alpn("h2"), m()), alpn(), "1"),
        Arguments.of("ALPN list on one chain", List.of(m().alpn("h2", "http/1.1"), m()), alpn("http/1.1"), "0"),
        // direct source, source type, source prefix, source port
        Arguments.of("direct source prefix", List.of(m().directSource("10.0.0.0", 24), m()), from("10.0.0.9", 5000), "0"),
        Arguments.of("source type local", List.of(m().local(), m().external(), m()), from("127.0.0.1", 5000), "0"),
        Arguments.of("source type external", List.of(m().local(), m().external(), m()), from("10.9.9.9", 5000), "1"),
        Arguments.of("same IP as the destination is local", List.of(m().local(), m()), fromSelf(), "0"),
        Arguments.of("external without an EXTERNAL chain: ANY", List.of(m().local(), m()), from("10.9.9.9", 5000), "1"),
        Arguments.of("source prefix longest", List.of(m().source("10.0.0.0", 8), m().source("10.0.0.0", 24), m()),
            from("10.0.0.9", 5000), "1"),
        Arguments.of("source port exact", List.of(m().sourcePort(5000), m()), from("10.0.0.9", 5000), "0"),
        Arguments.of("source port other", List.of(m().sourcePort(5000), m()), from("10.0.0.9", 5001), "1"),
        // an earlier criterion decides before a later, more specific-looking one
        Arguments.of("SNI before source", List.of(m().sni("a.com"), m().source("10.0.0.0", 8)), tlsFrom("a.com", "10.0.0.1"), "0"),
        // the typical Istio virtualInbound: per port, per protocol, then passthrough
        Arguments.of("istio inbound tls", istioInbound(), tlsTo(9080), "0"),
        Arguments.of("istio inbound plaintext", istioInbound(), tcp("10.88.0.11", 9080), "1"),
        Arguments.of("istio inbound other port", istioInbound(), tcp("10.88.0.11", 3306), "2"),
        // overlapping prefixes of several lengths, at each address level
        Arguments.of("destination /8 /16 /24 /32: /24", overlapping("prefix"), tcp("10.1.2.9", 80), "2"),
        Arguments.of("destination /8 /16 /24 /32: /32", overlapping("prefix"), tcp("10.1.2.3", 80), "3"),
        Arguments.of("destination /8 /16 /24 /32: /16", overlapping("prefix"), tcp("10.1.9.9", 80), "1"),
        Arguments.of("destination /8 /16 /24 /32: /8", overlapping("prefix"), tcp("10.9.9.9", 80), "0"),
        Arguments.of("destination /8 /16 /24 /32: unset", overlapping("prefix"), tcp("11.0.0.1", 80), "4"),
        Arguments.of("direct source /8 /16 /24 /32: /24", overlapping("directSource"), from("10.1.2.9", 5000), "2"),
        Arguments.of("direct source /8 /16 /24 /32: unset", overlapping("directSource"), from("192.0.2.1", 5000), "4"),
        Arguments.of("source /8 /16 /24 /32: /16", overlapping("source"), from("10.1.3.1", 5000), "1"),
        Arguments.of("source /8 /16 /24 /32: /32", overlapping("source"), from("10.1.2.3", 5000), "3"),
        Arguments.of("one chain, two ranges: the longer decides", List.of(m().prefix("10.0.0.0", 8).prefix("10.1.2.0", 24),
            m().prefix("10.1.0.0", 16)), tcp("10.1.2.5", 80), "0"),
        Arguments.of("one chain, two ranges: the other one", List.of(m().prefix("10.0.0.0", 8).prefix("10.1.2.0", 24),
            m().prefix("10.1.0.0", 16)), tcp("10.1.3.5", 80), "1"),
        // no backtracking across address levels: the longest destination range has no chain for this source
        Arguments.of("longest destination, then no source", List.of(m().prefix("10.1.0.0", 16).source("192.168.0.0", 16),
            m().prefix("10.0.0.0", 8)), tcp("10.1.0.1", 80), null),
        // IPv6: lengths on both sides of the 64-bit word boundary, /128 and /0
        Arguments.of("IPv6 /128", ipv6(), tcp("fd00:1:2:3:4:5:6:7", 80), "4"),
        Arguments.of("IPv6 /96", ipv6(), tcp("fd00:1:2:3:4:5:6:8", 80), "3"),
        Arguments.of("IPv6 /64", ipv6(), tcp("fd00:1:2:3:9::1", 80), "2"),
        Arguments.of("IPv6 /48", ipv6(), tcp("fd00:1:2:4::1", 80), "1"),
        Arguments.of("IPv6 /0", ipv6(), tcp("2001:db8::1", 80), "0"),
        Arguments.of("IPv6 ranges don't take IPv4", ipv6(), tcp("10.0.0.1", 80), "5"),
        Arguments.of("IPv6 source /64", List.of(m().source("fd00::", 16), m().source("fd00:0:0:1::", 64), m()),
            from("fd00::1:0:0:0:9", 5000), "1"),
        Arguments.of("IPv6 source /16", List.of(m().source("fd00::", 16), m().source("fd00:0:0:1::", 64), m()),
            from("fd00::2:0:0:0:9", 5000), "0"),
        // wildcard server names at several depths, exact names deeper than wildcards
        Arguments.of("SNI 4 labels: deepest wildcard", deepWildcards(), tls("x.a.b.example.com"), "1"),
        Arguments.of("SNI 5 labels: deepest wildcard", deepWildcards(), tls("y.x.a.b.example.com"), "1"),
        Arguments.of("SNI under b: middle wildcard", deepWildcards(), tls("x.c.b.example.com"), "2"),
        Arguments.of("SNI under example.com: shallow wildcard", deepWildcards(), tls("x.example.com"), "3"),
        Arguments.of("SNI exact beats deeper wildcard", deepWildcards(), tls("a.b.example.com"), "0"),
        Arguments.of("SNI other domain: unset", deepWildcards(), tls("x.example.org"), "4"),
        Arguments.of("wildcard needs its dot", deepWildcards(), tls("xexample.com"), "4"),
        Arguments.of("chain with exact and wildcard", List.of(m().sni("a.com", "*.b.com"), m().sni("*.com")),
            tls("x.b.com"), "0"),
        // ties and misses: no chain for the connection means empty, i.e. the listener's default chain
        Arguments.of("no chain for the port, no catch-all: default", List.of(m().port(80), m().port(443)), tcp("10.0.0.1", 8080), null),
        Arguments.of("most specific branch empty further down: default", List.of(m().port(443).sni("a.com"),
            m().sni("b.com")), tls("b.com"), null),
        Arguments.of("source type local only, external connection: default", List.of(m().local()), from("10.9.9.9", 5000), null),
        Arguments.of("source port set, other port: default", List.of(m().sourcePort(5000)), from("10.0.0.9", 5001), null)
    );
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void picksTheMostSpecificChainAtEachStep(String name, List<M> chains, Connection connection, String expected) throws Exception {
    List<String> names = new ArrayList<>();
    List<FilterChainMatch> matches = new ArrayList<>();
    for (int i = 0; i < chains.size(); i++) {
      names.add(String.valueOf(i));
      matches.add(chains.get(i).build());
    }
    FilterChainMatcher<String> matcher = FilterChainMatcher.build(names, matches, "filter_chains");

    assertThat(matcher.match(connection)).isEqualTo(Optional.ofNullable(expected));
  }

  @Test
  void identicalOrOverlappingMatchesAreRefused() {
    assertThatThrownBy(() -> build(m(), m().port(80), m()))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "filter_chains[2].filter_chain_match: matches the same connections as filter_chains[0] "
                + "(two chains with the same match make the listener invalid)"));
    assertThatThrownBy(() -> build(m().sni("a.com", "b.com"), m().sni("b.com")))
        .as("one shared server name is enough to be ambiguous")
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "filter_chains[1].filter_chain_match: matches the same connections as filter_chains[0] "
                + "(two chains with the same match make the listener invalid)"));
    assertThatThrownBy(() -> build(m().prefix("10.0.0.1", 8), m().prefix("10.200.0.0", 8)))
        .as("prefixes are compared after masking").isInstanceOf(ConfigException.class);
  }

  @Test
  void badValuesAreRefusedByPath() {
    assertThatThrownBy(() -> build(m().prefix("10.0.0.0", 33), m().sni("foo.*.com"), m().sni("*"), m().port(0),
        m().sourcePort(70000), m().prefix("not-an-ip", 8)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "filter_chains[0].filter_chain_match.prefix_ranges[0]: prefix_len 33 is longer than the address (32 bits)",
            "filter_chains[1].filter_chain_match.server_names[0]: 'foo.*.com' is not a host name or a leading wildcard like *.example.com",
            "filter_chains[2].filter_chain_match.server_names[0]: '*' is not a host name or a leading wildcard like *.example.com",
            "filter_chains[3].filter_chain_match.destination_port: must be between 1 and 65535, got 0",
            "filter_chains[4].filter_chain_match.source_ports[0]: must be between 1 and 65535, got 70000",
            "filter_chains[5].filter_chain_match.prefix_ranges[0]: 'not-an-ip' is not an IP address"));
  }

  @Test
  void aMatchCostsTheSameLookupsWithTenThousandChains() throws Exception {
    List<Integer> chains = new ArrayList<>();
    List<FilterChainMatch> matches = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      chains.add(i);
      // distinct ports and distinct /32 addresses: the index keeps both flat
      matches.add(m().port(1 + i % 5000).prefix("10.0." + (i / 5000) + ".1", 32).build());
    }
    FilterChainMatcher<Integer> matcher = FilterChainMatcher.build(chains, matches, "filter_chains");

    assertThat(matcher.match(tcp("10.0.1.1", 4999))).contains(9998);
    assertThat(matcher.match(tcp("10.0.0.1", 1))).contains(0);
    assertThat(matcher.match(tcp("10.0.2.1", 1))).isEmpty();
  }

  /**
   * The index against a plain scan of the same semantics, on random listeners and connections drawn from
   * small domains so that ties, overlaps and unset criteria occur often: the scan narrows the candidate
   * chains criterion by criterion, keeping only the most specific ones that match at each step.
   */
  @Test
  void theIndexAgreesWithAScanOnRandomListeners() {
    java.util.Random random = new java.util.Random(6);
    int compared = 0;
    for (int listener = 0; listener < 3000; listener++) {
      List<FilterChainMatch> matches = new ArrayList<>();
      List<Integer> ids = new ArrayList<>();
      for (int i = 0, n = 1 + random.nextInt(8); i < n; i++) {
        matches.add(Random.chain(random));
        ids.add(i);
      }
      FilterChainMatcher<Integer> matcher;
      try {
        matcher = FilterChainMatcher.build(ids, matches, "filter_chains");
      } catch (ConfigException e) {
        continue; // two chains with the same match: refused, tested above
      }
      for (int k = 0; k < 20; k++) {
        Connection c = Random.connection(random);
        assertThat(matcher.match(c)).as("%s for %s", matches, c).isEqualTo(Scan.match(matches, c));
        compared++;
      }
    }
    assertThat(compared).as("enough listeners are valid to compare").isGreaterThan(20_000);
  }

  /** Random values from small, overlapping domains. */
  private static final class Random {
    private static final String[] V4 = {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "0.0.0.0/0", "192.168.0.0/16"};
    private static final String[] V6 = {"fd00::/8", "fd00:1::/32", "fd00:1::/64", "fd00:1::5/128", "::/0", "fd00:1::/100"};
    private static final String[] IPS = {"10.1.2.3", "10.1.2.4", "10.1.3.1", "10.2.0.1", "192.168.1.1", "172.16.0.1",
        "127.0.0.1", "fd00:1::5", "fd00:1::6", "fd00:1:0:0:1::1", "fd00:2::1", "2001:db8::1", "::1"};
    private static final String[] NAMES = {"a.b.example.com", "*.b.example.com", "*.example.com", "*.com", "x.example.com", "example.com"};
    private static final String[] SNIS = {"", "a.b.example.com", "z.b.example.com", "x.example.com", "y.a.b.example.com",
        "example.com", "example.org"};
    private static final String[] PROTOCOLS = {"h2", "http/1.1", "istio"};

    static FilterChainMatch chain(java.util.Random r) {
      FilterChainMatch.Builder b = FilterChainMatch.newBuilder();
      if (r.nextInt(3) == 0) {
        b.setDestinationPort(UInt32Value.of(r.nextBoolean() ? 80 : 443));
      }
      ranges(r, b::addPrefixRanges);
      for (int i = r.nextInt(4) == 0 ? 1 + r.nextInt(2) : 0; i > 0; i--) {
        String name = pick(r, NAMES);
        if (!b.getServerNamesList().contains(name)) {
          b.addServerNames(name);
        }
      }
      if (r.nextInt(3) == 0) {
        b.setTransportProtocol(r.nextBoolean() ? "tls" : "raw_buffer");
      }
      for (int i = r.nextInt(4) == 0 ? 1 + r.nextInt(2) : 0; i > 0; i--) {
        String protocol = pick(r, PROTOCOLS);
        if (!b.getApplicationProtocolsList().contains(protocol)) {
          b.addApplicationProtocols(protocol);
        }
      }
      ranges(r, b::addDirectSourcePrefixRanges);
      b.setSourceType(ConnectionSourceType.forNumber(r.nextInt(5) == 0 ? 1 + r.nextInt(2) : 0));
      ranges(r, b::addSourcePrefixRanges);
      if (r.nextInt(5) == 0) {
        b.addSourcePorts(r.nextBoolean() ? 5000 : 5001);
      }
      return b.build();
    }

    private static void ranges(java.util.Random r, java.util.function.Consumer<CidrRange> add) {
      for (int i = r.nextInt(3) == 0 ? 1 + r.nextInt(2) : 0; i > 0; i--) {
        String[] range = pick(r, r.nextBoolean() ? V4 : V6).split("/");
        add.accept(CidrRange.newBuilder().setAddressPrefix(range[0]).setPrefixLen(UInt32Value.of(Integer.parseInt(range[1]))).build());
      }
    }

    static Connection connection(java.util.Random r) {
      InetSocketAddress source = addr(pick(r, IPS), r.nextBoolean() ? 5000 : 5001);
      InetSocketAddress direct = r.nextInt(4) == 0 ? addr(pick(r, IPS), 6000) : source;
      List<String> offered = new ArrayList<>();
      for (int i = r.nextInt(3); i > 0; i--) {
        offered.add(pick(r, PROTOCOLS));
      }
      return new Connection(addr(pick(r, IPS), r.nextBoolean() ? 80 : 443), direct, source, pick(r, SNIS),
          r.nextBoolean() ? "tls" : "raw_buffer", offered);
    }

    private static String pick(java.util.Random r, String[] values) {
      return values[r.nextInt(values.length)];
    }
  }

  /** Envoy's selection as a scan over the chains, the reference for the index. */
  private static final class Scan {
    static Optional<Integer> match(List<FilterChainMatch> matches, Connection c) {
      List<Integer> candidates = new ArrayList<>();
      for (int i = 0; i < matches.size(); i++) {
        candidates.add(i);
      }
      candidates = best(candidates, i -> matches.get(i).hasDestinationPort()
          ? (matches.get(i).getDestinationPort().getValue() == c.destination().getPort() ? 1 : -1) : 0);
      candidates = best(candidates, i -> longest(matches.get(i).getPrefixRangesList(), c.destination()));
      candidates = best(candidates, i -> serverName(matches.get(i).getServerNamesList(), c.serverName()));
      candidates = best(candidates, i -> matches.get(i).getTransportProtocol().isEmpty() ? 0
          : matches.get(i).getTransportProtocol().equals(c.transportProtocol()) ? 1 : -1);
      candidates = applicationProtocols(candidates, matches, c.applicationProtocols());
      candidates = best(candidates, i -> longest(matches.get(i).getDirectSourcePrefixRangesList(), c.directSource()));
      candidates = sourceType(candidates, matches, c);
      candidates = best(candidates, i -> longest(matches.get(i).getSourcePrefixRangesList(), c.source()));
      candidates = best(candidates, i -> matches.get(i).getSourcePortsCount() == 0 ? 0
          : matches.get(i).getSourcePortsList().contains(c.source().getPort()) ? 1 : -1);
      assertThat(candidates.size()).as("a valid listener has at most one chain per connection").isLessThanOrEqualTo(1);
      return candidates.stream().findFirst();
    }

    /** The candidates with the highest score; a negative score does not match. */
    private static List<Integer> best(List<Integer> candidates, java.util.function.ToIntFunction<Integer> score) {
      int top = candidates.stream().mapToInt(score).max().orElse(-1);
      return top < 0 ? List.of() : candidates.stream().filter(i -> score.applyAsInt(i) == top).toList();
    }

    /** 0 when unset, 1 + the longest range holding the address, -1 when none does. */
    private static int longest(List<CidrRange> ranges, InetSocketAddress address) {
      if (ranges.isEmpty()) {
        return 0;
      }
      byte[] a = address.getAddress().getAddress();
      int best = -1;
      for (CidrRange range : ranges) {
        byte[] p = NetUtil.createByteArrayFromIpAddressString(range.getAddressPrefix());
        int length = range.getPrefixLen().getValue();
        if (p.length == a.length && new java.math.BigInteger(1, p).shiftRight(p.length * 8 - length)
            .equals(new java.math.BigInteger(1, a).shiftRight(a.length * 8 - length))) {
          best = Math.max(best, 1 + length);
        }
      }
      return best;
    }

    /** 0 when unset; exact beats every wildcard; a longer wildcard suffix beats a shorter one. */
    private static int serverName(List<String> names, String sni) {
      if (names.isEmpty()) {
        return 0;
      }
      int best = -1;
      for (String name : names) {
        if (name.equals(sni)) {
          best = Math.max(best, 1000);
        } else if (name.startsWith("*.") && sni.endsWith(name.substring(1))) {
          best = Math.max(best, name.length());
        }
      }
      return best;
    }

    private static List<Integer> applicationProtocols(List<Integer> candidates, List<FilterChainMatch> matches,
                                                      List<String> offered) {
      for (String protocol : offered) {
        List<Integer> naming = candidates.stream().filter(i -> matches.get(i).getApplicationProtocolsList().contains(protocol)).toList();
        if (!naming.isEmpty()) {
          return naming;
        }
      }
      return candidates.stream().filter(i -> matches.get(i).getApplicationProtocolsCount() == 0).toList();
    }

    private static List<Integer> sourceType(List<Integer> candidates, List<FilterChainMatch> matches, Connection c) {
      InetAddress source = c.directSource().getAddress();
      boolean local = source.isLoopbackAddress() || source.equals(c.destination().getAddress());
      ConnectionSourceType type = local ? ConnectionSourceType.SAME_IP_OR_LOOPBACK : ConnectionSourceType.EXTERNAL;
      List<Integer> typed = candidates.stream().filter(i -> matches.get(i).getSourceType() == type).toList();
      return !typed.isEmpty() ? typed
          : candidates.stream().filter(i -> matches.get(i).getSourceType() == ConnectionSourceType.ANY).toList();
    }
  }

  private static List<M> overlapping(String level) {
    List<M> chains = new ArrayList<>();
    for (String range : List.of("10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32")) {
      String[] r = range.split("/");
      M m = m();
      switch (level) {
        case "prefix" -> m.prefix(r[0], Integer.parseInt(r[1]));
        case "directSource" -> m.directSource(r[0], Integer.parseInt(r[1]));
        default -> m.source(r[0], Integer.parseInt(r[1]));
      }
      chains.add(m);
    }
    chains.add(m());
    return chains;
  }

  private static List<M> ipv6() {
    return List.of(m().prefix("::", 0), m().prefix("fd00:1:2::", 48), m().prefix("fd00:1:2:3::", 64),
        m().prefix("fd00:1:2:3:4:5::", 96), m().prefix("fd00:1:2:3:4:5:6:7", 128), m().prefix("0.0.0.0", 0));
  }

  private static List<M> deepWildcards() {
    return List.of(m().sni("a.b.example.com"), m().sni("*.a.b.example.com"), m().sni("*.b.example.com"),
        m().sni("*.example.com"), m());
  }

  private static void build(M... chains) throws ConfigException {
    List<String> names = new ArrayList<>();
    List<FilterChainMatch> matches = new ArrayList<>();
    for (int i = 0; i < chains.length; i++) {
      names.add(String.valueOf(i));
      matches.add(chains[i].build());
    }
    FilterChainMatcher.build(names, matches, "filter_chains");
  }

  private static List<M> istioInbound() {
    return List.of(m().port(9080).transport("tls"), m().port(9080).transport("raw_buffer"), m());
  }

  private static InetSocketAddress addr(String ip, int port) {
    return new InetSocketAddress(NetUtil.createInetAddressFromIpAddressString(ip), port);
  }

  private static Connection tcp(String ip, int port) {
    return Connection.tcp(addr(ip, port), addr("10.88.0.10", 40000));
  }

  private static Connection tls(String sni) {
    return new Connection(addr("10.0.0.1", 443), addr("10.88.0.10", 40000), addr("10.88.0.10", 40000), sni, "tls", List.of());
  }

  private static Connection tlsTo(int port) {
    return new Connection(addr("10.88.0.11", port), addr("10.88.0.10", 40000), addr("10.88.0.10", 40000), "", "tls", List.of());
  }

  private static Connection tlsFrom(String sni, String source) {
    return new Connection(addr("10.0.0.1", 443), addr(source, 40000), addr(source, 40000), sni, "tls", List.of());
  }

  private static Connection alpn(String... protocols) {
    return new Connection(addr("10.0.0.1", 443), addr("10.88.0.10", 40000), addr("10.88.0.10", 40000), "", "tls", List.of(protocols));
  }

  private static Connection from(String ip, int port) {
    return Connection.tcp(addr("10.0.0.1", 80), addr(ip, port));
  }

  private static Connection fromSelf() {
    return Connection.tcp(addr("10.88.0.10", 80), addr("10.88.0.10", 40000));
  }

  private static M m() {
    return new M();
  }

  /** A FilterChainMatch under construction, readable in a table. */
  static final class M {
    private final FilterChainMatch.Builder b = FilterChainMatch.newBuilder();

    M port(int port) {
      b.setDestinationPort(UInt32Value.of(port));
      return this;
    }

    M prefix(String ip, int len) {
      b.addPrefixRanges(CidrRange.newBuilder().setAddressPrefix(ip).setPrefixLen(UInt32Value.of(len)));
      return this;
    }

    M prefixNoLen(String ip) {
      b.addPrefixRanges(CidrRange.newBuilder().setAddressPrefix(ip));
      return this;
    }

    M sni(String... names) {
      b.addAllServerNames(List.of(names));
      return this;
    }

    M transport(String protocol) {
      b.setTransportProtocol(protocol);
      return this;
    }

    M alpn(String... protocols) {
      b.addAllApplicationProtocols(List.of(protocols));
      return this;
    }

    M directSource(String ip, int len) {
      b.addDirectSourcePrefixRanges(CidrRange.newBuilder().setAddressPrefix(ip).setPrefixLen(UInt32Value.of(len)));
      return this;
    }

    M local() {
      b.setSourceType(ConnectionSourceType.SAME_IP_OR_LOOPBACK);
      return this;
    }

    M external() {
      b.setSourceType(ConnectionSourceType.EXTERNAL);
      return this;
    }

    M source(String ip, int len) {
      b.addSourcePrefixRanges(CidrRange.newBuilder().setAddressPrefix(ip).setPrefixLen(UInt32Value.of(len)));
      return this;
    }

    M sourcePort(int port) {
      b.addSourcePorts(port);
      return this;
    }

    FilterChainMatch build() {
      return b.build();
    }

    @Override
    public String toString() {
      return b.build().toString().replace('\n', ' ');
    }
  }
}
