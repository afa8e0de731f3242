package io.vmesh.proxy.http;

/**
 * How a cluster speaks HTTP to its endpoints (Envoy's {@code HttpProtocolOptions.upstream_protocol_options}):
 * HTTP/1.1 (the default), HTTP/2 cleartext with prior knowledge ({@code explicit_http_config.http2_protocol_options}),
 * or whichever the downstream request came in ({@code use_downstream_protocol_config}); and how long its connections
 * live ({@code common_http_protocol_options}): closed after {@code idleMillis} with no request (0 for never), and after
 * {@code maxRequestsPerConnection} requests (0 for no limit).
 */
public record UpstreamProtocol(Kind kind, Http2Options http2, long idleMillis, int maxRequestsPerConnection) {

  public enum Kind { HTTP1, HTTP2, DOWNSTREAM }

  /** Envoy's default {@code common_http_protocol_options.idle_timeout} for upstream connections: 1 hour. */
  public static final long DEFAULT_IDLE_MILLIS = 3_600_000;

  public static final UpstreamProtocol HTTP1 = new UpstreamProtocol(Kind.HTTP1, Http2Options.DEFAULTS);

  /** Envoy's defaults for the connections' life: 1 h idle, no request limit. */
  public UpstreamProtocol(Kind kind, Http2Options http2) {
    this(kind, http2, DEFAULT_IDLE_MILLIS, 0);
  }

  /** The same protocol, its connections living as {@code common_http_protocol_options} says. */
  public UpstreamProtocol withConnections(long idle, int maxRequests) {
    return new UpstreamProtocol(kind, http2, idle, maxRequests);
  }

  /** Whether a request that came in over HTTP/2 ({@code downstreamHttp2}) or HTTP/1.x goes upstream over HTTP/2. */
  public boolean http2(boolean downstreamHttp2) {
    return kind == Kind.HTTP2 || (kind == Kind.DOWNSTREAM && downstreamHttp2);
  }
}
