package io.vmesh.proxy.http;

/**
 * How a cluster speaks HTTP to its endpoints (Envoy's {@code HttpProtocolOptions.upstream_protocol_options}):
 * HTTP/1.1 (the default), HTTP/2 cleartext with prior knowledge ({@code explicit_http_config.http2_protocol_options}),
 * or whichever the downstream request came in ({@code use_downstream_protocol_config}).
 */
public record UpstreamProtocol(Kind kind, Http2Options http2) {

  public enum Kind { HTTP1, HTTP2, DOWNSTREAM }

  public static final UpstreamProtocol HTTP1 = new UpstreamProtocol(Kind.HTTP1, Http2Options.DEFAULTS);

  /** Whether a request that came in over HTTP/2 ({@code downstreamHttp2}) or HTTP/1.x goes upstream over HTTP/2. */
  public boolean http2(boolean downstreamHttp2) {
    return kind == Kind.HTTP2 || (kind == Kind.DOWNSTREAM && downstreamHttp2);
  }
}
