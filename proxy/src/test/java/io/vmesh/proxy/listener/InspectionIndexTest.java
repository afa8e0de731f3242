package io.vmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.vmesh.proxy.listener.FilterChainMatcher.Connection;
import io.vmesh.proxy.listener.FilterChainMatcherTest.M;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Which inspectors a connection needs, decided from its destination before reading: only what the chains
 * it can still reach (by Envoy's port then address steps, no backtracking) match on.
 */
class InspectionIndexTest {

  private static final String NONE = "none";
  private static final String TLS = "tls";
  private static final String TLS_HTTP = "tls+http";

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of("plain TCP port beside an HTTP port", List.of(m().port(3306), m().port(80).alpn("http/1.1", "h2c")),
            "10.0.0.1", 3306, NONE),
        Arguments.of("the HTTP port", List.of(m().port(3306), m().port(80).alpn("http/1.1", "h2c")), "10.0.0.1", 80, TLS_HTTP),
        Arguments.of("a port no chain has and no catch-all", List.of(m().port(80).alpn("h2c")), "10.0.0.1", 81, NONE),
        Arguments.of("catch-all with SNI reaches other ports", List.of(m().port(5432), m().sni("*.example.com")),
            "10.0.0.1", 443, TLS),
        // the exact port wins the first step: the catch-all's server names cannot matter for it
        Arguments.of("exact port hides the catch-all", List.of(m().port(5432), m().sni("*.example.com")), "10.0.0.1", 5432, NONE),
        Arguments.of("transport protocol alone needs tls only", List.of(m().port(443).transport("tls"), m().port(443)),
            "10.0.0.1", 443, TLS),
        Arguments.of("longest prefix decides", List.of(m().port(80).prefix("10.0.0.0", 8).alpn("h2c"),
            m().port(80).prefix("10.1.0.0", 16)), "10.1.2.3", 80, NONE),
        Arguments.of("shorter prefix", List.of(m().port(80).prefix("10.0.0.0", 8).alpn("h2c"),
            m().port(80).prefix("10.1.0.0", 16)), "10.2.0.1", 80, TLS_HTTP),
        Arguments.of("no prefix and no unset one", List.of(m().port(80).prefix("10.0.0.0", 8).alpn("h2c")), "192.168.0.1", 80, NONE),
        Arguments.of("unset prefix after the set ones miss", List.of(m().prefix("10.0.0.0", 8), m().alpn("h2c")),
            "192.168.0.1", 80, TLS_HTTP),
        Arguments.of("IPv6 prefix", List.of(m().prefix("fd00::", 8).sni("a.example.com"), m().prefix("fd00::1", 128)),
            "fd00::2", 80, TLS),
        Arguments.of("IPv6 host route", List.of(m().prefix("fd00::", 8).sni("a.example.com"), m().prefix("fd00::1", 128)),
            "fd00::1", 80, NONE),
        // two chains on one branch: one that needs the bytes is enough
        Arguments.of("any reachable chain that needs them", List.of(m().port(80), m().port(80).alpn("h2c").sourcePort(1)),
            "10.0.0.1", 80, TLS_HTTP),
        Arguments.of("source criteria come after the protocols", List.of(m().port(80).sourcePort(1), m().port(80).sourcePort(2)),
            "10.0.0.1", 80, NONE));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void decidesFromTheDestination(String name, List<M> chains, String ip, int port, String expected) throws Exception {
    List<String> ids = new ArrayList<>();
    List<FilterChainMatch> matches = new ArrayList<>();
    for (int i = 0; i < chains.size(); i++) {
      ids.add(Integer.toString(i));
      matches.add(chains.get(i).build());
    }
    InspectionIndex.Needs needs = FilterChainMatcher.build(ids, matches, "filter_chains")
        .needsInspection(new InetSocketAddress(ip, port));
    assertThat(needs.tls() ? needs.http() ? TLS_HTTP : TLS : NONE).isEqualTo(expected);
  }

  /**
   * Against the matcher itself, on random listeners: where the index says an inspector is not needed,
   * what that inspector could find never changes the chain chosen.
   */
  @Test
  void skippingAnInspectorNeverChangesTheChainTheMatcherPicks() throws Exception {
    Random random = new Random(42);
    int[] ports = {80, 443, 3306};
    String[] ips = {"10.0.0.1", "10.0.1.1", "10.1.0.1", "192.168.0.1"};
    String[][] prefixes = {{"10.0.0.0", "8"}, {"10.0.0.0", "16"}, {"10.0.0.1", "32"}};
    String[] names = {"", "a.example.com", "b.example.com"};
    String[] transports = {"raw_buffer", "tls"};
    List<List<String>> protocols = List.of(List.of(), List.of("h2c"), List.of("http/1.1"), List.of("h2", "http/1.1"));
    for (int round = 0; round < 300; round++) {
      List<String> ids = new ArrayList<>();
      List<FilterChainMatch> matches = new ArrayList<>();
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < 1 + random.nextInt(6); i++) {
        M m = m();
        if (random.nextBoolean()) {
          m.port(ports[random.nextInt(ports.length)]);
        }
        if (random.nextBoolean()) {
          String[] p = prefixes[random.nextInt(prefixes.length)];
          m.prefix(p[0], Integer.parseInt(p[1]));
        }
        switch (random.nextInt(4)) {
          case 0 -> m.sni("a.example.com");
          case 1 -> m.transport("tls");
          case 2 -> m.alpn("h2c");
          default -> { }
        }
        FilterChainMatch match = m.build();
        if (seen.add(match.toString())) {
          ids.add(Integer.toString(ids.size()));
          matches.add(match);
        }
      }
      FilterChainMatcher<String> matcher = FilterChainMatcher.build(ids, matches, "filter_chains");
      for (int port : ports) {
        for (String ip : ips) {
          InetSocketAddress destination = new InetSocketAddress(ip, port);
          InetSocketAddress source = new InetSocketAddress("10.9.9.9", 40000);
          InspectionIndex.Needs needs = matcher.needsInspection(destination);
          Optional<String> plain = matcher.match(Connection.tcp(destination, source));
          for (String name : names) {
            for (String transport : transports) {
              for (List<String> alpn : protocols) {
                Optional<String> sniffed = matcher.match(new Connection(destination, source, source,
                    needs.serverNames() ? name : "", needs.transportProtocol() ? transport : "raw_buffer",
                    needs.applicationProtocols() ? alpn : List.of()));
                Optional<String> full = matcher.match(new Connection(destination, source, source, name, transport, alpn));
                assertThat(sniffed).as("round %d, %s, %s %s %s, chains %s", round, destination, name, transport, alpn, matches)
                    .isEqualTo(full);
              }
            }
          }
          if (!needs.tls()) {
            assertThat(plain).isEqualTo(matcher.match(new Connection(destination, source, source, "a.example.com", "tls",
                List.of("h2c"))));
          }
        }
      }
    }
  }

  private static M m() {
    return new M();
  }
}
