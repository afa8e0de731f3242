package io.vmesh.proxy.listener;

import io.vmesh.proxy.filter.TcpProxyRoute;

/** A filter chain as the proxy runs it: this slice's only network filter is {@code tcp_proxy}. */
public record FilterChainConfig(String name, TcpProxyRoute tcpProxy) {
}
