# shellcheck shell=bash
# The static bootstrap that bench/proxies.sh (for http.sh and tails.sh), bench/startup.sh (BOOTSTRAP=yaml|json)
# and bench/accesslog-syscalls.sh run vmesh-proxy from:
# a tcp_proxy listener on 127.0.0.1:9080 and an HTTP listener on 127.0.0.1:9081, both to one STATIC cluster.
#   source bench/bootstrap.sh; static_bootstrap ORIGIN_IP ORIGIN_PORT > bootstrap.yaml
static_bootstrap() {
  local tcp_proxy=type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
  local hcm=type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
  local router=type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  cat <<YAML
static_resources:
  listeners:
  - name: tcp
    address: { socket_address: { address: 127.0.0.1, port_value: 9080 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { "@type": $tcp_proxy, stat_prefix: origin, cluster: origin }
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: 9081 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": $hcm
          stat_prefix: http
          http_filters: [ { name: envoy.filters.http.router, typed_config: { "@type": $router } } ]
          route_config:
            name: local
            virtual_hosts:
            - { name: any, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: origin } } ] }
  clusters:
  - name: origin
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: origin
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: $1, port_value: $2 } } }
YAML
}
