package io.vmesh.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.filter.TcpProxyRoute;
import io.vmesh.proxy.listener.FilterChainMatcher.Connection;
import io.vmesh.proxy.listener.ListenerConfig;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class RuntimeConfigBuilderTest {

  static final String TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-26T12:00:00Z"), ZoneOffset.UTC);

  private static final String CLUSTERS = """
        clusters:
        - name: PassthroughCluster
          type: ORIGINAL_DST
          lb_policy: CLUSTER_PROVIDED
        - name: echo
          load_assignment:
            endpoints:
            - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 10.0.0.2, port_value: 7001 } } }
        """;

  @Test
  void handOffPrefersTheExactAddressThenTheWildcardPortThenNone() throws Exception {
    RuntimeConfig config = RuntimeConfigBuilder.build(BootstrapLoader.load(BootstrapLoaderTest.resource("static.yaml")), CLOCK);

    assertThat(config.handoff(addr("10.88.0.11", 7000)).map(ListenerConfig::name)).contains("10.88.0.11_7000");
    assertThat(config.handoff(addr("10.88.0.12", 7000))).isEmpty();
    assertThat(config.handoff(addr("10.88.0.12", 8000)).map(ListenerConfig::name)).contains("0.0.0.0_8000");
    assertThat(config.handoff(addr("10.88.0.11", 8000)).map(ListenerConfig::name)).contains("0.0.0.0_8000");
    assertThat(config.handoff(addr("fd00::1", 8000))).as("an IPv4 wildcard does not take IPv6").isEmpty();
    assertThat(config.boundListeners()).extracting(ListenerConfig::name).containsExactly("virtualOutbound");
  }

  /** Istio's dual-stack outbound listeners: the other family's VIP, or {@code [::]}, as an additional address. */
  private static final String DUAL_STACK = """
      listeners:
      - name: 10.96.0.12_7000
        address: { socket_address: { address: 10.96.0.12, port_value: 7000 } }
        bind_to_port: false
        additional_addresses:
        - address: { socket_address: { address: "fd00:10:96::c", port_value: 7000 } }
        filter_chains:
        - filters: [ { name: t, typed_config: { "@type": "%1$s", stat_prefix: s, cluster: echo } } ]
      - name: 0.0.0.0_8000
        address: { socket_address: { address: 0.0.0.0, port_value: 8000 } }
        bind_to_port: false
        additional_addresses:
        - address: { socket_address: { address: "::", port_value: 8000 } }
        filter_chains:
        - filters: [ { name: t, typed_config: { "@type": "%1$s", stat_prefix: s, cluster: echo } } ]
      """.formatted(TCP);

  @Test
  void handOffFindsAListenerByItsAdditionalAddressesExactThenWildcardOfTheSameFamily() throws Exception {
    RuntimeConfig config = build(DUAL_STACK);
    assertThat(config.handoff(addr("10.96.0.12", 7000)).map(ListenerConfig::name)).contains("10.96.0.12_7000");
    assertThat(config.handoff(addr("fd00:10:96::c", 7000)).map(ListenerConfig::name)).contains("10.96.0.12_7000");
    assertThat(config.handoff(addr("fd00:10:96:0:0:0:0:c", 7000)).map(ListenerConfig::name)).as("any spelling of the address")
        .contains("10.96.0.12_7000");
    assertThat(config.handoff(addr("fd00:10:96::d", 7000))).as("another IPv6 address on that port has no owner").isEmpty();
    assertThat(config.handoff(addr("fd88::5", 8000)).map(ListenerConfig::name)).as("[::]:8000 is 0.0.0.0_8000's").contains("0.0.0.0_8000");
    assertThat(config.handoff(addr("10.88.0.5", 8000)).map(ListenerConfig::name)).contains("0.0.0.0_8000");
    assertThat(config.handoff(addr("fd88::5", 9000))).isEmpty();
  }

  @Test
  void additionalAddressesAreRefusedOnBoundListenersAndWhenTakenTwice() {
    assertThatThrownBy(() -> build(DUAL_STACK + """
        - name: other
          address: { socket_address: { address: "fd00:10:96::c", port_value: 7000 } }
          bind_to_port: false
          filter_chains:
          - filters: [ { name: t, typed_config: { "@type": "%1$s", stat_prefix: s, cluster: echo } } ]
        - name: bound
          address: { socket_address: { address: 127.0.0.1, port_value: 15001 } }
          additional_addresses:
          - address: { socket_address: { address: "::1", port_value: 15001 } }
          filter_chains:
          - filters: [ { name: t, typed_config: { "@type": "%1$s", stat_prefix: s, cluster: echo } } ]
        - name: bad
          address: { socket_address: { address: 10.96.0.13, port_value: 7000 } }
          bind_to_port: false
          additional_addresses:
          - address: { socket_address: { address: "fd00:10:96::zz", port_value: 7000 } }
          filter_chains:
          - filters: [ { name: t, typed_config: { "@type": "%1$s", stat_prefix: s, cluster: echo } } ]
        """.formatted(TCP)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactlyInAnyOrder(
            "static_resources.listeners[2].address: the same address as static_resources.listeners[0].additional_addresses[0].address",
            "static_resources.listeners[3].additional_addresses: only a listener with bind_to_port: false may have additional "
                + "addresses (this proxy binds one socket per listener)",
            "static_resources.listeners[4].additional_addresses[0].address.socket_address.address: 'fd00:10:96::zz' is not an IP address"));
  }

  @Test
  void theVirtualListenersOwnChainsDecideWhatIsNotHandedOff() throws Exception {
    RuntimeConfig config = RuntimeConfigBuilder.build(BootstrapLoader.load(BootstrapLoaderTest.resource("static.yaml")), CLOCK);
    ListenerConfig outbound = config.listeners().get("virtualOutbound");
    InetSocketAddress app = addr("10.88.0.10", 40000);

    assertThat(outbound.chainFor(Connection.tcp(addr("10.88.0.99", 15001), app)).orElseThrow().tcpProxy().clusters())
        .containsExactly("BlackHoleCluster");
    assertThat(outbound.chainFor(Connection.tcp(addr("10.88.0.99", 443), app)).orElseThrow().tcpProxy().clusters())
        .containsExactly("PassthroughCluster");
    assertThat(config.clusters().get("BlackHoleCluster").nextEndpoint()).isEmpty();
    ClusterConfig echo = config.clusters().get("outbound|7000||echo");
    assertThat(List.of(echo.nextEndpoint().orElseThrow(), echo.nextEndpoint().orElseThrow(), echo.nextEndpoint().orElseThrow()))
        .as("round robin").containsExactly(addr("10.88.0.11", 7001), addr("10.88.0.12", 7001), addr("10.88.0.11", 7001));
    assertThat(echo.connectTimeoutMillis()).isEqualTo(1500);
    TcpProxyRoute split = config.listeners().get("0.0.0.0_8000").chainFor(Connection.tcp(addr("10.1.1.1", 8000), app))
        .orElseThrow().tcpProxy();
    assertThat(split.totalWeight()).isEqualTo(100);
    assertThat(split.clusterAt(0)).isEqualTo("outbound|7000||echo");
    assertThat(split.clusterAt(89)).isEqualTo("outbound|7000||echo");
    assertThat(split.clusterAt(90)).isEqualTo("PassthroughCluster");
  }

  @Test
  void aDefaultChainTakesWhatNoChainMatches() throws Exception {
    RuntimeConfig config = build("""
        listeners:
        - name: inbound
          address: { socket_address: { address: 0.0.0.0, port_value: 15006 } }
          filter_chains:
          - filter_chain_match: { destination_port: 8080 }
            filters: [ { name: t, typed_config: { "@type": "%s", stat_prefix: s, cluster: echo } } ]
          default_filter_chain:
            filters: [ { name: t, typed_config: { "@type": "%s", stat_prefix: s, cluster: PassthroughCluster } } ]
        """.formatted(TCP, TCP));
    ListenerConfig inbound = config.listeners().get("inbound");

    assertThat(inbound.chainFor(Connection.tcp(addr("10.0.0.1", 8080), addr("10.0.0.9", 1))).orElseThrow().tcpProxy().clusters())
        .containsExactly("echo");
    assertThat(inbound.chainFor(Connection.tcp(addr("10.0.0.1", 9090), addr("10.0.0.9", 1))).orElseThrow().tcpProxy().clusters())
        .containsExactly("PassthroughCluster");
  }

  @Test
  void invalidConfigsAreRefusedNamingEveryBadField() {
    assertThatThrownBy(() -> build("""
        listeners:
        - name: a
          address: { socket_address: { address: 0.0.0.0, port_value: 70000 } }
          filter_chains:
          - filters: [ { name: t, typed_config: { "@type": "%s", stat_prefix: s, cluster: nowhere } } ]
        - name: a
          address: { socket_address: { address: my-host, port_value: 9000 } }
          filter_chains:
          - filter_chain_match: { destination_port: 80 }
            filters: [ { name: t, typed_config: { "@type": "%s", stat_prefix: s, cluster: echo } } ]
          - filter_chain_match: { destination_port: 80 }
            filters: [ { name: t, typed_config: { "@type": "%s", cluster: echo } } ]
        """.formatted(TCP, TCP, TCP)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactlyInAnyOrder(
            "static_resources.listeners[0].address.socket_address.port_value: must be between 1 and 65535, got 70000",
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: unknown cluster 'nowhere' "
                + "(clusters: PassthroughCluster, echo)",
            "static_resources.listeners[1].address.socket_address.address: 'my-host' is not an IP address",
            "static_resources.listeners[1].filter_chains[1].filters[0].typed_config.stat_prefix: is required",
            "static_resources.listeners[1].filter_chains[1].filter_chain_match: matches the same connections as "
                + "static_resources.listeners[1].filter_chains[0] (two chains with the same match make the listener invalid)",
            "static_resources.listeners[1].name: duplicate listener name 'a'"));
  }

  @Test
  void clustersAndListenerShapesOutsideTheSubsetAreRefused() {
    assertThatThrownBy(() -> build("""
        listeners:
        - name: handoff
          address: { socket_address: { address: 10.0.0.1, port_value: 80 } }
          bind_to_port: false
          use_original_dst: true
        - name: twice
          address: { socket_address: { address: 10.0.0.1, port_value: 80 } }
          bind_to_port: false
          filter_chains:
          - filters:
            - { name: a, typed_config: { "@type": "%s", stat_prefix: s, cluster: echo } }
            - { name: b, typed_config: { "@type": "%s", stat_prefix: s, cluster: echo } }
        clusters:
        - { name: eds, type: EDS }
        - { name: odst, type: ORIGINAL_DST }
        - { name: echo, connect_timeout: 0s, upstream_bind_config: { source_address: { address: 127.0.0.6, port_value: 5 } } }
        - { name: echo }
        """.formatted(TCP, TCP), ""))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactlyInAnyOrder(
            "static_resources.clusters[0].type: EDS needs dynamic_resources.ads_config (endpoints come over ADS)",
            "static_resources.clusters[1].lb_policy: ROUND_ROBIN is not supported for a ORIGINAL_DST cluster (use CLUSTER_PROVIDED)",
            "static_resources.clusters[2].connect_timeout: must be at least 1ms, got 0s 0ns",
            "static_resources.clusters[2].upstream_bind_config.source_address.port_value: a fixed source port is not supported (leave it 0)",
            "static_resources.clusters[3].name: duplicate cluster name 'echo'",
            "static_resources.listeners[0].use_original_dst: a listener that hands connections off must bind its port",
            "static_resources.listeners[0].filter_chains: a listener needs filter_chains or a default_filter_chain",
            "static_resources.listeners[1].filter_chains[0].filters: exactly one network filter, tcp_proxy or http_connection_manager, is supported; got 2"));
  }

  @Test
  void twoListenersOnOneAddressAreRefused() {
    String chain = "filter_chains: [ { filters: [ { name: t, typed_config: { \"@type\": \"%s\", stat_prefix: s, cluster: echo } } ] } ]"
        .formatted(TCP);
    assertThatThrownBy(() -> build("""
        listeners:
        - { name: one, address: { socket_address: { address: 0.0.0.0, port_value: 9000 } }, %s }
        - { name: two, address: { socket_address: { address: 0.0.0.0, port_value: 9000 } }, %s }
        """.formatted(chain, chain)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "static_resources.listeners[1].address: the same address as static_resources.listeners[0]"));
  }

  @Test
  void theConfigDumpIsEnvoysShapeAndParsesBack() throws Exception {
    RuntimeConfig config = RuntimeConfigBuilder.build(BootstrapLoader.load(BootstrapLoaderTest.resource("static.yaml")), CLOCK);

    String dump = config.configDump();

    assertThat(dump).contains("\"@type\": \"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump\"",
        "\"@type\": \"type.googleapis.com/envoy.admin.v3.ListenersConfigDump\"",
        "\"@type\": \"type.googleapis.com/envoy.admin.v3.ClustersConfigDump\"",
        "\"static_listeners\"", "\"name\": \"10.88.0.11_7000\"", "\"bind_to_port\": false",
        "\"@type\": \"type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\"",
        "\"last_updated\": \"2026-11-26T12:00:00Z\"");
    var parsed = io.envoyproxy.envoy.admin.v3.ConfigDump.newBuilder();
    com.google.protobuf.util.JsonFormat.parser().usingTypeRegistry(SupportedFields.typeRegistry()).merge(dump, parsed);
    assertThat(parsed.getConfigs(0).unpack(io.envoyproxy.envoy.admin.v3.BootstrapConfigDump.class).getBootstrap())
        .isEqualTo(config.bootstrap());
  }

  @Test
  void anOriginalDestinationOfTheProxysOwnListenerIsALoop() throws Exception {
    RuntimeConfig config = RuntimeConfigBuilder.build(DefaultBootstrap.bootstrap(), CLOCK);

    assertThat(config.isOwnListener(addr("127.0.0.1", 15001))).isTrue();
    assertThat(config.isOwnListener(addr("127.0.0.1", 15006))).isTrue();
    assertThat(config.isOwnListener(addr("127.0.0.1", 15002))).isFalse();
    assertThat(config.isOwnListener(addr("192.0.2.1", 15001))).as("not an address of this host").isFalse();
  }

  @Test
  void loadBalancingOutlierDetectionAndIdleTimeoutTakeEnvoysDefaultsAndRefuseWhatIsOutOfRange() throws Exception {
    String listener = """
        listeners:
        - name: l
          address: { socket_address: { address: 127.0.0.1, port_value: 9000 } }
          filter_chains:
          - filter_chain_match: { destination_port: 9000 }
            filters: [ { name: t, typed_config: { "@type": "%s", stat_prefix: s, cluster: echo, idle_timeout: 0s } } ]
          - filters: [ { name: t, typed_config: { "@type": "%s", stat_prefix: s, cluster: echo } } ]
        """.formatted(TCP, TCP);
    RuntimeConfig config = build(listener, """
        clusters:
        - name: echo
          lb_policy: LEAST_REQUEST
          outlier_detection: { consecutive_gateway_failure: 3, enforcing_consecutive_gateway_failure: 100, interval: 1s }
          load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 10.0.0.2, port_value: 1 } } } } ] } ] }
        """);
    var balancer = config.clusters().get("echo").balancer();
    assertThat(balancer.policy()).isEqualTo(io.vmesh.proxy.cluster.LoadBalancer.Policy.LEAST_REQUEST);
    assertThat(balancer.outlierDetection()).contains(new io.vmesh.proxy.cluster.OutlierDetection(5, 3, 100, 100, 1000, 30_000, 10, 300_000));
    ListenerConfig l = config.listeners().get("l");
    assertThat(l.chainFor(Connection.tcp(addr("127.0.0.1", 9000), addr("127.0.0.1", 1))).orElseThrow().tcpProxy().idleTimeoutMillis())
        .as("0s turns it off").isZero();
    assertThat(l.chainFor(Connection.tcp(addr("127.0.0.1", 9001), addr("127.0.0.1", 1))).orElseThrow().tcpProxy().idleTimeoutMillis())
        .as("Envoy's default: one hour").isEqualTo(3_600_000);

    assertThatThrownBy(() -> build("", """
        clusters:
        - { name: sr, outlier_detection: { success_rate_minimum_hosts: 3 } }
        """))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "static_resources.clusters[0].outlier_detection.success_rate_minimum_hosts: field not supported by vmesh-proxy "
                + "(envoy.config.cluster.v3.OutlierDetection supports consecutive_5xx, consecutive_gateway_failure, "
                + "enforcing_consecutive_5xx, enforcing_consecutive_gateway_failure, interval, base_ejection_time, "
                + "max_ejection_percent, max_ejection_time; see docs/proxy-config.md)"));
    assertThatThrownBy(() -> build("""
        listeners:
        - name: l
          address: { socket_address: { address: 127.0.0.1, port_value: 9000 } }
          filter_chains:
          - filters: [ { name: t, typed_config: { "@type": "%s", stat_prefix: s, cluster: echo, idle_timeout: -1s } } ]
        """.formatted(TCP), """
        clusters:
        - { name: echo, lb_policy: RANDOM }
        - { name: odd, outlier_detection: { max_ejection_percent: 150, base_ejection_time: 0s } }
        - { name: odst, type: ORIGINAL_DST, lb_policy: CLUSTER_PROVIDED, outlier_detection: {} }
        """))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactlyInAnyOrder(
            "static_resources.clusters[0].lb_policy: RANDOM is not supported for a STATIC cluster (use ROUND_ROBIN or LEAST_REQUEST)",
            "static_resources.clusters[1].outlier_detection.max_ejection_percent: must be a percentage between 0 and 100, got 150",
            "static_resources.clusters[1].outlier_detection.base_ejection_time: must be at least 1ms",
            "static_resources.clusters[2].outlier_detection: an ORIGINAL_DST cluster has no endpoints to eject",
            // a refused cluster is not there for the listener to name
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: unknown cluster 'echo' (clusters: )",
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.idle_timeout: must be 0 (none) or at least 1ms"));
  }

  @Test
  void anExtraSourceAddressIsBoundForUpstreamsOfItsFamily() throws Exception {
    // the inbound passthrough: 127.0.0.6 cannot dial an IPv6 app port (EAFNOSUPPORT), ::6 can
    RuntimeConfig config = build("", """
        clusters:
        - name: inbound
          type: ORIGINAL_DST
          lb_policy: CLUSTER_PROVIDED
          upstream_bind_config:
            source_address: { address: 127.0.0.6, port_value: 0 }
            extra_source_addresses: [ { address: { address: "::6", port_value: 0 } } ]
        - name: v4only
          type: ORIGINAL_DST
          lb_policy: CLUSTER_PROVIDED
          upstream_bind_config: { source_address: { address: 127.0.0.6 } }
        """);
    ClusterConfig inbound = config.clusters().get("inbound");
    assertThat(inbound.sourceAddressFor(addr("10.88.0.10", 0).getAddress())).contains("127.0.0.6");
    assertThat(inbound.sourceAddressFor(addr("fd88::10", 0).getAddress())).contains("::6");
    assertThat(config.clusters().get("v4only").sourceAddressFor(addr("fd88::10", 0).getAddress()))
        .as("without an extra address of its family, source_address as Envoy does").contains("127.0.0.6");

    assertThatThrownBy(() -> build("", """
        clusters:
        - name: same
          upstream_bind_config:
            source_address: { address: 127.0.0.6 }
            extra_source_addresses: [ { address: { address: 127.0.0.7, port_value: 9 } } ]
        """))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactlyInAnyOrder(
            "static_resources.clusters[0].upstream_bind_config.extra_source_addresses[0].address.port_value: a fixed source port is not supported (leave it 0)",
            "static_resources.clusters[0].upstream_bind_config.extra_source_addresses[0].address: must be of another IP version than source_address"));
  }


  private static RuntimeConfig build(String staticResources) throws ConfigException {
    return build(staticResources, CLUSTERS);
  }

  private static RuntimeConfig build(String listeners, String clusters) throws ConfigException {
    String yaml = "static_resources:\n" + (listeners + clusters).indent(2);
    Bootstrap bootstrap = BootstrapLoader.parse(yaml, false);
    return RuntimeConfigBuilder.build(bootstrap, CLOCK);
  }

  private static InetSocketAddress addr(String ip, int port) {
    return new InetSocketAddress(io.netty.util.NetUtil.createInetAddressFromIpAddressString(ip), port);
  }
}
