package io.vmesh.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmesh.proxy.http.HttpConnectionManagerConfig;
import io.vmesh.proxy.http.HttpTimeouts;
import io.vmesh.proxy.listener.FilterChainMatcher.Connection;
import java.net.InetSocketAddress;
import java.time.Clock;
import org.junit.jupiter.api.Test;

/** An http_connection_manager's inline routes from a bootstrap: what is built, and what is refused by path. */
class HttpRoutesBuilderTest {

  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

  private static RuntimeConfig build(String hcmBody) throws Exception {
    return RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: http
            address: { socket_address: { address: 127.0.0.1, port_value: 8080 } }
            filter_chains:
            - filters:
              - name: hcm
                typed_config:
                  "@type": %s
        %s
          clusters:
          - { name: a }
          - { name: b }
        """.formatted(HCM, hcmBody.indent(10).stripTrailing()), false), Clock.systemUTC());
  }

  @Test
  void inlineRoutesAreBuiltWithEnvoysDefaults() throws Exception {
    RuntimeConfig config = build("""
        stat_prefix: http
        route_config:
          virtual_hosts:
          - name: v
            domains: [ "*" ]
            routes:
            - { match: { prefix: /r }, route: { cluster: a, retry_policy: { retry_on: "5xx,reset" } } }
            - { match: { prefix: / }, route: { weighted_clusters: { clusters: [ { name: a, weight: 1 }, { name: b, weight: 2 } ] }, timeout: 0s } }
        """);
    HttpConnectionManagerConfig http = config.listeners().get("http")
        .chainFor(Connection.tcp(new InetSocketAddress("127.0.0.1", 8080), new InetSocketAddress("127.0.0.1", 1)))
        .orElseThrow().http();
    var retried = http.routes().route("h", "/r", n -> null).orElseThrow().action();
    assertThat(retried.timeoutMillis()).isEqualTo(15_000);
    assertThat(retried.retry().numRetries()).isEqualTo(1);
    assertThat(retried.retry().onReset()).isTrue();
    assertThat(retried.retry().onStatus(503)).isTrue();
    var split = http.routes().route("h", "/x", n -> null).orElseThrow().action();
    assertThat(split.timeoutMillis()).isZero();
    assertThat(split.clusters().weights()).containsExactly(1, 2);
  }

  @Test
  void everyProblemIsNamedByItsPath() {
    String at = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";
    assertThatThrownBy(() -> build("""
        codec_type: HTTP3
        http2_protocol_options: { max_concurrent_streams: 0, initial_stream_window_size: 1000 }
        route_config:
          virtual_hosts:
          - name: v
            domains: [ "*", "a.*.com" ]
            routes:
            - { match: { safe_regex: { regex: "(" } }, route: { cluster: a } }
            - { match: { prefix: / }, route: { cluster: nowhere, retry_policy: { retry_on: "5xx,retriable-4xx" } } }
            - { match: { prefix: /, headers: [ { name: x } ] }, route: { cluster: a } }
          - { name: w, domains: [ "*" ], routes: [] }
        """))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactlyInAnyOrder(
            at + ".stat_prefix: is required",
            at + ".codec_type: HTTP3 is not supported (AUTO, HTTP1, HTTP2)",
            at + ".http2_protocol_options.max_concurrent_streams: must be between 1 and 2147483647, got 0",
            at + ".http2_protocol_options.initial_stream_window_size: must be between 65535 and 2147483647, got 1000",
            at + ".route_config.virtual_hosts[0].domains[1]: 'a.*.com' is not a domain, '*', '*suffix' or 'prefix*'",
            at + ".route_config.virtual_hosts[0].routes[0].match.safe_regex.regex: not a valid regular expression: "
                + "Unclosed group",
            at + ".route_config.virtual_hosts[0].routes[1].route.cluster: unknown cluster 'nowhere' (clusters: a, b)",
            at + ".route_config.virtual_hosts[0].routes[1].route.retry_policy.retry_on: 'retriable-4xx' is not supported "
                + "(supported: 5xx, connect-failure, gateway-error, reset)",
            at + ".route_config.virtual_hosts[0].routes[2].match.headers[0]: needs present_match or string_match",
            at + ".route_config.virtual_hosts: domain '*' is already in virtual host 'v'"));
  }

  @Test
  void aStaticListenerCannotWaitForRoutesFromRds() {
    assertThatThrownBy(() -> build("""
        stat_prefix: http
        rds: { route_config_name: "8080", config_source: { ads: {} } }
        """))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "static_resources.listeners[0]: a static listener cannot wait for routes [8080] from RDS; put it in LDS "
                + "or its routes inline"));
  }

  @Test
  void timeoutsTakeEnvoysDefaultsZeroTurnsOneOffAndABadOneIsRefusedByPath() throws Exception {
    String routes = "route_config: { virtual_hosts: [ { name: v, domains: [ \"*\" ], routes: [ { match: { prefix: / }, route: { cluster: a } } ] } ] }";
    assertThat(hcm(build("stat_prefix: http\n" + routes)).timeouts()).isEqualTo(HttpTimeouts.DEFAULTS);
    assertThat(HttpTimeouts.DEFAULTS).isEqualTo(new HttpTimeouts(300_000, 0, 3_600_000, 0, 5_000));
    assertThat(hcm(build("""
        stat_prefix: http
        stream_idle_timeout: 0s
        request_timeout: 2.5s
        drain_timeout: 0.25s
        common_http_protocol_options: { idle_timeout: 30s, max_connection_duration: 600s }
        """ + routes)).timeouts()).isEqualTo(new HttpTimeouts(0, 2_500, 30_000, 600_000, 250));
    assertThatThrownBy(() -> build("""
        stat_prefix: http
        stream_idle_timeout: -1s
        common_http_protocol_options: { idle_timeout: 0.0001s, headers_with_underscores_action: REJECT_REQUEST }
        """ + routes)).isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
        .startsWith("static_resources.listeners[0].filter_chains[0].filters[0].typed_config.common_http_protocol_options"
            + ".headers_with_underscores_action: field not supported"));
    assertThatThrownBy(() -> build("""
        stat_prefix: http
        stream_idle_timeout: -1s
        common_http_protocol_options: { idle_timeout: 0.0001s }
        """ + routes)).isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stream_idle_timeout: must be 0 (none) or at least 1ms",
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.common_http_protocol_options.idle_timeout: "
                + "must be 0 (none) or at least 1ms"));
  }

  private static HttpConnectionManagerConfig hcm(RuntimeConfig config) {
    return config.listeners().get("http")
        .chainFor(Connection.tcp(new InetSocketAddress("127.0.0.1", 8080), new InetSocketAddress("127.0.0.1", 1)))
        .orElseThrow().http();
  }

  @Test
  void upgradeConfigsOfTheConnectionManagerAndRoutesAreBuiltCaseInsensitively() throws Exception {
    RuntimeConfig config = build("""
        stat_prefix: http
        upgrade_configs: [ { upgrade_type: WebSocket }, { upgrade_type: spdy/3, enabled: false } ]
        route_config:
          virtual_hosts:
          - name: v
            domains: [ "*" ]
            routes:
            - { match: { prefix: / }, route: { cluster: a, upgrade_configs: [ { upgrade_type: websocket, enabled: false }, { upgrade_type: SPDY/3 } ] } }
        """);
    HttpConnectionManagerConfig http = config.listeners().get("http")
        .chainFor(Connection.tcp(new InetSocketAddress("127.0.0.1", 8080), new InetSocketAddress("127.0.0.1", 1)))
        .orElseThrow().http();
    assertThat(http.upgrades()).containsExactlyInAnyOrderEntriesOf(java.util.Map.of("websocket", true, "spdy/3", false));
    assertThat(http.routes().route("h", "/", n -> null).orElseThrow().action().upgrades())
        .containsExactlyInAnyOrderEntriesOf(java.util.Map.of("websocket", false, "spdy/3", true));
  }

  @Test
  void upgradeConfigsOutsideTheSubsetAreRefusedByPath() {
    String at = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";
    assertThatThrownBy(() -> build("""
        stat_prefix: http
        upgrade_configs:
        - { upgrade_type: websocket }
        - { upgrade_type: WEBSOCKET }
        - { upgrade_type: CONNECT }
        - { enabled: true }
        - { upgrade_type: h2c }
        route_config:
          virtual_hosts:
          - { name: v, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: a, upgrade_configs: [ { upgrade_type: connect } ] } } ] }
        """))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactlyInAnyOrder(
            at + ".upgrade_configs[1].upgrade_type: 'WEBSOCKET' is configured twice",
            at + ".upgrade_configs[2].upgrade_type: CONNECT is not supported (HTTP/1.1 Upgrade types such as websocket are)",
            at + ".upgrade_configs[3].upgrade_type: is required",
            at + ".upgrade_configs[4].upgrade_type: h2c is not supported (Envoy ignores Upgrade: h2c too; use prior knowledge)",
            at + ".route_config.virtual_hosts[0].routes[0].route.upgrade_configs[0].upgrade_type: "
                + "CONNECT is not supported (HTTP/1.1 Upgrade types such as websocket are)"));
    assertThatThrownBy(() -> build("""
        stat_prefix: http
        upgrade_configs: [ { upgrade_type: websocket, filters: [ { name: envoy.filters.http.router } ] } ]
        route_config:
          virtual_hosts:
          - name: v
            domains: [ "*" ]
            routes: [ { match: { prefix: / }, route: { cluster: a, upgrade_configs: [ { upgrade_type: websocket, connect_config: {} } ] } } ]
        """))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).hasSize(2).anySatisfy(p -> assertThat(p)
            .startsWith(at + ".upgrade_configs[0].filters: field not supported by vmesh-proxy")).anySatisfy(p -> assertThat(p)
            .startsWith(at + ".route_config.virtual_hosts[0].routes[0].route.upgrade_configs[0].connect_config: field not supported")));
  }
}
