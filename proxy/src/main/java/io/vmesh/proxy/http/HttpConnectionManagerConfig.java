package io.vmesh.proxy.http;

/**
 * An {@code http_connection_manager} filter as the proxy runs it: its stat prefix, its inline routes, its
 * {@code codec_type} and its {@code http2_protocol_options}.
 */
public record HttpConnectionManagerConfig(String statPrefix, RouteTable routes, Codec codec, Http2Options http2) {

  /** Envoy's {@code codec_type}: AUTO tells HTTP/2 by its connection preface. */
  public enum Codec { AUTO, HTTP1, HTTP2 }

  public HttpConnectionManagerConfig(String statPrefix, RouteTable routes) {
    this(statPrefix, routes, Codec.AUTO, Http2Options.DEFAULTS);
  }
}
