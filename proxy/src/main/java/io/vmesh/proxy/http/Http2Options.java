package io.vmesh.proxy.http;

/**
 * The part of Envoy's {@code Http2ProtocolOptions} vmesh-proxy runs: the concurrent-stream limit and the
 * flow-control windows; null leaves the HTTP/2 default (unlimited streams, 65 535-byte windows).
 */
public record Http2Options(Integer maxConcurrentStreams, Integer initialStreamWindowSize, Integer initialConnectionWindowSize) {

  public static final Http2Options DEFAULTS = new Http2Options(null, null, null);
}
