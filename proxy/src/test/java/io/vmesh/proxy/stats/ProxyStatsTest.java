package io.vmesh.proxy.stats;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** One registry, two views: Envoy's /stats names and Istio's Prometheus names and labels. */
class ProxyStatsTest {

  @Test
  void countsOnceAndShowsTheSameValueInBothViews() {
    ProxyStats stats = new ProxyStats();
    ProxyStats.ClusterStats c = stats.cluster("outbound|80||web");
    c.connections.increment();
    c.connections.increment();
    c.response(503);
    c.requestTime.record(7);
    ProxyStats.ListenerStats l = stats.listener("virtualInbound");
    l.accepted.increment();
    l.active.set(3);
    stats.tcp("InboundPassthroughCluster").bytesReceived.increment(22);
    stats.http("inbound_0.0.0.0_8080").request(204, 12);

    assertThat(stats.text()).contains(
        "cluster.outbound|80||web.upstream_cx_total: 2\n",
        "cluster.outbound|80||web.upstream_rq_5xx: 1\n",
        "cluster.outbound|80||web.upstream_rq_2xx: 0\n",
        "listener.virtualInbound.downstream_cx_total: 1\n",
        "listener.virtualInbound.downstream_cx_active: 3\n",
        "tcp.InboundPassthroughCluster.downstream_cx_rx_bytes_total: 22\n",
        "http.inbound_0.0.0.0_8080.downstream_rq_2xx: 1\n")
        .doesNotContain("upstream_rq_time:");

    String prom = stats.prometheus();
    assertThat(prom).contains(
        "envoy_cluster_upstream_cx_total{envoy_cluster_name=\"outbound|80||web\"} 2.0",
        "envoy_cluster_upstream_rq_xx_total{envoy_cluster_name=\"outbound|80||web\",envoy_response_code_class=\"5\"} 1.0",
        "envoy_listener_downstream_cx_total{envoy_listener_name=\"virtualInbound\"} 1.0",
        "envoy_listener_downstream_cx_active{envoy_listener_name=\"virtualInbound\"} 3.0",
        "envoy_tcp_downstream_cx_rx_bytes_total{envoy_tcp_prefix=\"InboundPassthroughCluster\"} 22.0",
        "envoy_http_downstream_rq_xx_total{envoy_http_conn_manager_prefix=\"inbound_0.0.0.0_8080\",envoy_response_code_class=\"2\"} 1.0",
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"outbound|80||web\",le=\"10.0\"} 1",
        "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"outbound|80||web\",le=\"5.0\"} 0",
        "envoy_cluster_upstream_rq_time_count{envoy_cluster_name=\"outbound|80||web\"} 1");
  }
}
