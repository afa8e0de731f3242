package io.vmesh.proxy.http;

/**
 * An {@code http_connection_manager} filter as the proxy runs it: its stat prefix, its routes, its
 * {@code codec_type}, its {@code http2_protocol_options} and its timeouts. With {@code rds}, {@code rdsName} is the
 * {@code route_config_name} and {@code routes} the table it had when the filter was built: each request
 * follows the table of that name in the configuration current at its headers (Envoy resolves RDS per
 * request), this one only when that configuration no longer has it. {@code upgrades}: its {@code upgrade_configs}, upgrade
 * type (lower case) to enabled.
 */
public record HttpConnectionManagerConfig(String statPrefix, RouteTable routes, Codec codec, Http2Options http2, String rdsName,
                                          HttpTimeouts timeouts, java.util.Map<String, Boolean> upgrades) {

  /** Envoy's {@code codec_type}: AUTO tells HTTP/2 by its connection preface. */
  public enum Codec { AUTO, HTTP1, HTTP2 }

  public HttpConnectionManagerConfig(String statPrefix, RouteTable routes) {
    this(statPrefix, routes, Codec.AUTO, Http2Options.DEFAULTS, null, HttpTimeouts.DEFAULTS, java.util.Map.of());
  }

  public HttpConnectionManagerConfig {
    upgrades = java.util.Map.copyOf(upgrades);
  }
}
