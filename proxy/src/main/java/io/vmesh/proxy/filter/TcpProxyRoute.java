package io.vmesh.proxy.filter;

import io.vmesh.proxy.cluster.WeightedClusters;
import java.util.List;

/**
 * A {@code tcp_proxy} filter's choice of upstream: one cluster, or weighted clusters picked at random in
 * proportion to their weights for each new connection; and its {@code idle_timeout}.
 *
 * @param idleTimeoutMillis close both sides after this long without a byte either way; 0 for never
 */
public record TcpProxyRoute(String statPrefix, WeightedClusters upstream, long idleTimeoutMillis) {

  /** Envoy's default {@code idle_timeout}: one hour. */
  public static final long DEFAULT_IDLE_TIMEOUT_MILLIS = 3_600_000;

  public TcpProxyRoute {
    if (idleTimeoutMillis < 0) {
      throw new IllegalArgumentException("idle timeout must be 0 (none) or positive, got " + idleTimeoutMillis);
    }
  }

  public TcpProxyRoute(String statPrefix, List<String> clusters, List<Integer> weights) {
    this(statPrefix, new WeightedClusters(clusters, weights), DEFAULT_IDLE_TIMEOUT_MILLIS);
  }

  public static TcpProxyRoute single(String statPrefix, String cluster) {
    return new TcpProxyRoute(statPrefix, WeightedClusters.single(cluster), DEFAULT_IDLE_TIMEOUT_MILLIS);
  }

  public TcpProxyRoute withIdleTimeout(long millis) {
    return new TcpProxyRoute(statPrefix, upstream, millis);
  }

  public List<String> clusters() {
    return upstream.clusters();
  }

  public List<Integer> weights() {
    return upstream.weights();
  }

  public long totalWeight() {
    return upstream.totalWeight();
  }

  public String pickCluster() {
    return upstream.pick();
  }

  /** The cluster that owns {@code roll}, a number in {@code [0, totalWeight())}. */
  public String clusterAt(long roll) {
    return upstream.clusterAt(roll);
  }
}
