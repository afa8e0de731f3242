package io.vmesh.proxy.http;

/** An {@code http_connection_manager} filter as the proxy runs it: its stat prefix and its inline routes. */
public record HttpConnectionManagerConfig(String statPrefix, RouteTable routes) {
}
