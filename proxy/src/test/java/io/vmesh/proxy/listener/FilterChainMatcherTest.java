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
        Arguments.of("istio inbound other port", istioInbound(), tcp("10.88.0.11", 3306), "2")
    );
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void picksTheMostSpecificChainAtEachStep(String name, List<M> chains, Connection connection, String expected) throws Exception {
    FilterChainMatcher<String> matcher = matcher(chains);

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

  @Test
  void theInspectorsAreWaitedForOnlyWhereTheirFindingsCanChooseTheChain() throws ConfigException {
    // virtualInbound as the operator writes it: HTTP on 8080 (raw_buffer), sniffed 9092 (ALPN), server-first TCP on 9091
    List<M> chains = List.of(m().port(8080).transport("raw_buffer"), m().port(9092).alpn("http/1.1", "h2c"), m().port(9092),
        m().port(9091), m().port(8443).sni("matrix.example"), m());
    FilterChainMatcher<String> matcher = matcher(chains);

    assertThat(matcher.inspectsFor(addr("10.88.0.10", 8080))).isTrue();
    assertThat(matcher.inspectsFor(addr("10.88.0.10", 9092))).isTrue();
    assertThat(matcher.inspectsFor(addr("10.88.0.10", 8443))).isTrue();
    assertThat(matcher.inspectsFor(addr("10.88.0.10", 9091))).as("a server-first TCP port is not held for bytes").isFalse();
    assertThat(matcher.inspectsFor(addr("fd88::10", 7000))).as("the catch-all").isFalse();
  }

  /** Chain i is named "i". */
  private static FilterChainMatcher<String> matcher(List<M> chains) throws ConfigException {
    List<String> names = new ArrayList<>();
    List<FilterChainMatch> matches = new ArrayList<>();
    for (int i = 0; i < chains.size(); i++) {
      names.add(String.valueOf(i));
      matches.add(chains.get(i).build());
    }
    return FilterChainMatcher.build(names, matches, "filter_chains");
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
