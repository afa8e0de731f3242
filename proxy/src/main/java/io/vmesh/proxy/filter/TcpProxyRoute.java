package io.vmesh.proxy.filter;

import io.vmesh.proxy.cluster.WeightedClusters;
import java.util.List;

/**
 * A {@code tcp_proxy} filter's choice of upstream: one cluster, or weighted clusters picked at random in
 * proportion to their weights for each new connection.
 */
public record TcpProxyRoute(String statPrefix, WeightedClusters upstream) {

  public TcpProxyRoute(String statPrefix, List<String> clusters, List<Integer> weights) {
    this(statPrefix, new WeightedClusters(clusters, weights));
  }

  public static TcpProxyRoute single(String statPrefix, String cluster) {
    return new TcpProxyRoute(statPrefix, WeightedClusters.single(cluster));
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
