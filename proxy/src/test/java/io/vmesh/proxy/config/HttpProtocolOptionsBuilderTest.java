package io.vmesh.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmesh.proxy.http.Http2Options;
import io.vmesh.proxy.http.HttpConnectionManagerConfig;
import io.vmesh.proxy.http.UpstreamProtocol;
import io.vmesh.proxy.listener.FilterChainMatcher.Connection;
import java.net.InetSocketAddress;
import java.time.Clock;
import org.junit.jupiter.api.Test;

/** HTTP/2 settings of an http_connection_manager and a cluster's upstream protocol: what is built, what is refused by path. */
class HttpProtocolOptionsBuilderTest {

  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  private static final String OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private static RuntimeConfig build(String hcmExtra, String clusterOptions) throws Exception {
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
                  stat_prefix: http
                  route_config: { virtual_hosts: [ { name: v, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: c } } ] } ] }
        %s
          clusters:
          - name: c
            typed_extension_protocol_options:
        %s
        """.formatted(HCM, hcmExtra.indent(10).stripTrailing(), clusterOptions.indent(6).stripTrailing()), false),
        Clock.systemUTC());
  }

  private static String options(String body) {
    return """
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": %s
        %s""".formatted(OPTIONS, body.indent(2).stripTrailing());
  }

  private static HttpConnectionManagerConfig hcm(RuntimeConfig config) {
    return config.listeners().get("http")
        .chainFor(Connection.tcp(new InetSocketAddress("127.0.0.1", 8080), new InetSocketAddress("127.0.0.1", 1)))
        .orElseThrow().http();
  }

  @Test
  void http2SettingsAndUpstreamProtocolsAreBuilt() throws Exception {
    RuntimeConfig config = build("""
        codec_type: HTTP2
        http2_protocol_options: { max_concurrent_streams: 50, initial_stream_window_size: 1048576, initial_connection_window_size: 4194304 }
        """, options("explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 7 } }"));
    assertThat(hcm(config).codec()).isEqualTo(HttpConnectionManagerConfig.Codec.HTTP2);
    assertThat(hcm(config).http2()).isEqualTo(new Http2Options(50, 1_048_576, 4_194_304));
    assertThat(config.clusters().get("c").httpProtocol())
        .isEqualTo(new UpstreamProtocol(UpstreamProtocol.Kind.HTTP2, new Http2Options(7, null, null)));
    // /config_dump prints the option back in Envoy's JSON shape
    assertThat(config.configDump()).contains("\"@type\": \"" + OPTIONS + "\"", "\"max_concurrent_streams\": 7");

    RuntimeConfig downstream = build("", options("use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} }"));
    assertThat(hcm(downstream).codec()).isEqualTo(HttpConnectionManagerConfig.Codec.AUTO);
    assertThat(downstream.clusters().get("c").httpProtocol().http2(true)).isTrue();
    assertThat(downstream.clusters().get("c").httpProtocol().http2(false)).isFalse();

    // without http2_protocol_options, Envoy sends even HTTP/2 requests upstream as HTTP/1.1
    RuntimeConfig http1Only = build("", options("use_downstream_protocol_config: { http_protocol_options: {} }"));
    assertThat(http1Only.clusters().get("c").httpProtocol().http2(true)).isFalse();
    RuntimeConfig explicit1 = build("", options("explicit_http_config: { http_protocol_options: {} }"));
    assertThat(explicit1.clusters().get("c").httpProtocol()).isEqualTo(UpstreamProtocol.HTTP1);
  }

  @Test
  void unsupportedProtocolOptionsAreRefusedByPath() {
    assertThatThrownBy(() -> build("", options("explicit_http_config: { http3_protocol_options: {} }")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
            .startsWith("static_resources.clusters[0].typed_extension_protocol_options[0].value.explicit_http_config."
                + "http3_protocol_options: field not supported by vmesh-proxy"));
    assertThatThrownBy(() -> build("", options("auto_config: { http_protocol_options: {} }")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).singleElement().asString()
            .startsWith("static_resources.clusters[0].typed_extension_protocol_options[0].value.auto_config: field not supported"));
    assertThatThrownBy(() -> build("", """
        envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions:
          "@type": %s
          explicit_http_config: { http2_protocol_options: {} }
        """.formatted(OPTIONS)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).contains(
            "static_resources.clusters[0].typed_extension_protocol_options[envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions]: "
                + "only envoy.extensions.upstreams.http.v3.HttpProtocolOptions is supported"));
    assertThatThrownBy(() -> build("", options("explicit_http_config: { http2_protocol_options: { initial_connection_window_size: 3000000000 } }")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).contains(
            "static_resources.clusters[0].typed_extension_protocol_options[envoy.extensions.upstreams.http.v3.HttpProtocolOptions]"
                + ".explicit_http_config.http2_protocol_options.initial_connection_window_size: must be between 65535 and "
                + "2147483647, got 3000000000"));
  }

  @Test
  void upstreamConnectionsLiveAsCommonHttpProtocolOptionsSayWithEnvoysDefaults() throws Exception {
    assertThat(build("", options("explicit_http_config: { http_protocol_options: {} }")).clusters().get("c").httpProtocol())
        .extracting(UpstreamProtocol::idleMillis, UpstreamProtocol::maxRequestsPerConnection).containsExactly(3_600_000L, 0);
    UpstreamProtocol set = build("", options("""
        explicit_http_config: { http2_protocol_options: {} }
        common_http_protocol_options: { idle_timeout: 2.5s, max_requests_per_connection: 100 }
        """)).clusters().get("c").httpProtocol();
    assertThat(set).isEqualTo(new UpstreamProtocol(UpstreamProtocol.Kind.HTTP2, Http2Options.DEFAULTS, 2_500, 100));
    assertThat(build("", options("""
        explicit_http_config: { http_protocol_options: {} }
        common_http_protocol_options: { idle_timeout: 0s }
        """)).clusters().get("c").httpProtocol().idleMillis()).as("0s: never").isZero();
  }

  @Test
  void connectionLifeFieldsOfTheOtherSideOrNotImplementedAreRefusedByPath() {
    String at = "static_resources.clusters[0].typed_extension_protocol_options[envoy.extensions.upstreams.http.v3.HttpProtocolOptions]"
        + ".common_http_protocol_options";
    assertThatThrownBy(() -> build("", options("""
        explicit_http_config: { http_protocol_options: {} }
        common_http_protocol_options: { max_connection_duration: 60s }
        """)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).contains(at
            + ".max_connection_duration: not supported for upstream connections (a connection manager's common_http_protocol_options takes it)"));
    assertThatThrownBy(() -> build("", options("""
        explicit_http_config: { http_protocol_options: {} }
        common_http_protocol_options: { headers_with_underscores_action: REJECT_REQUEST, max_stream_duration: 1s }
        """)))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).hasSize(2).allSatisfy(p -> assertThat(p)
            .startsWith("static_resources.clusters[0].typed_extension_protocol_options[0].value.common_http_protocol_options.")
            .contains("field not supported by vmesh-proxy")));
    assertThatThrownBy(() -> build("common_http_protocol_options: { max_requests_per_connection: 5 }",
        options("explicit_http_config: { http_protocol_options: {} }")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.common_http_protocol_options.max_requests_per_connection: "
                + "not supported on a connection manager (downstream); a cluster's HttpProtocolOptions takes it"));
  }
}
