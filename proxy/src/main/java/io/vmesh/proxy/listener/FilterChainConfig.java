package io.vmesh.proxy.listener;

import io.vmesh.proxy.accesslog.AccessLogger;
import io.vmesh.proxy.filter.TcpProxyRoute;
import io.vmesh.proxy.http.HttpConnectionManagerConfig;
import java.util.List;

/**
 * A filter chain as the proxy runs it: one network filter, either {@code tcp_proxy} or
 * {@code http_connection_manager}, and that filter's {@code access_log} loggers (empty: the default log).
 */
public record FilterChainConfig(String name, TcpProxyRoute tcpProxy, HttpConnectionManagerConfig http, List<AccessLogger> accessLogs) {

  public FilterChainConfig {
    if ((tcpProxy == null) == (http == null)) {
      throw new IllegalArgumentException("exactly one of tcp_proxy and http_connection_manager");
    }
    accessLogs = List.copyOf(accessLogs);
  }

  public static FilterChainConfig tcp(String name, TcpProxyRoute tcpProxy) {
    return new FilterChainConfig(name, tcpProxy, null, List.of());
  }

  public static FilterChainConfig http(String name, HttpConnectionManagerConfig http) {
    return new FilterChainConfig(name, null, http, List.of());
  }

  public FilterChainConfig withAccessLogs(List<AccessLogger> loggers) {
    return new FilterChainConfig(name, tcpProxy, http, loggers);
  }
}
