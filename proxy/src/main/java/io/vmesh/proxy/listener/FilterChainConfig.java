package io.vmesh.proxy.listener;

import io.vmesh.proxy.filter.TcpProxyRoute;
import io.vmesh.proxy.http.HttpConnectionManagerConfig;

/** A filter chain as the proxy runs it: one network filter, either {@code tcp_proxy} or {@code http_connection_manager}. */
public record FilterChainConfig(String name, TcpProxyRoute tcpProxy, HttpConnectionManagerConfig http) {

  public FilterChainConfig {
    if ((tcpProxy == null) == (http == null)) {
      throw new IllegalArgumentException("exactly one of tcp_proxy and http_connection_manager");
    }
  }

  public static FilterChainConfig tcp(String name, TcpProxyRoute tcpProxy) {
    return new FilterChainConfig(name, tcpProxy, null);
  }

  public static FilterChainConfig http(String name, HttpConnectionManagerConfig http) {
    return new FilterChainConfig(name, null, http);
  }
}
