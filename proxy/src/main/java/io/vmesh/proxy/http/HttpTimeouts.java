package io.vmesh.proxy.http;

/**
 * The connection manager's own timeouts, in milliseconds, 0 for none: {@code stream_idle_timeout} (a
 * request with no byte either way for that long), {@code request_timeout} (the whole request received
 * within it), and {@code common_http_protocol_options} {@code idle_timeout} (a connection with no request
 * in flight) and {@code max_connection_duration} (then the connection is drained); {@code drain_timeout}: once
 * the listener drains, how long a connection is told to go away before it is (HTTP/2: between the graceful
 * GOAWAY and the final one; HTTP/1.1: until a connection between requests is closed).
 */
public record HttpTimeouts(long streamIdleMillis, long requestMillis, long idleMillis, long maxConnectionDurationMillis,
                           long drainMillis) {

  /** Envoy's defaults: 5 minutes stream idle, no request timeout, 1 hour connection idle, no maximum duration, 5 s drain. */
  public static final HttpTimeouts DEFAULTS = new HttpTimeouts(300_000, 0, 3_600_000, 0, 5_000);
}
