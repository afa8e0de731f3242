package io.vmesh.proxy.filter;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A {@code tcp_proxy} filter's choice of upstream: one cluster, or weighted clusters picked at random in
 * proportion to their weights for each new connection.
 */
public record TcpProxyRoute(String statPrefix, List<String> clusters, List<Integer> weights) {

  public TcpProxyRoute {
    clusters = List.copyOf(clusters);
    weights = List.copyOf(weights);
    if (clusters.isEmpty() || clusters.size() != weights.size()) {
      throw new IllegalArgumentException("one weight per cluster, at least one cluster");
    }
  }

  public static TcpProxyRoute single(String statPrefix, String cluster) {
    return new TcpProxyRoute(statPrefix, List.of(cluster), List.of(1));
  }

  public long totalWeight() {
    return weights.stream().mapToLong(Integer::longValue).sum();
  }

  public String pickCluster() {
    return clusters.size() == 1 ? clusters.get(0) : clusterAt(ThreadLocalRandom.current().nextLong(totalWeight()));
  }

  /** The cluster that owns {@code roll}, a number in {@code [0, totalWeight())}. */
  public String clusterAt(long roll) {
    long upTo = 0;
    for (int i = 0; i < clusters.size(); i++) {
      upTo += weights.get(i);
      if (roll < upTo) {
        return clusters.get(i);
      }
    }
    throw new IllegalArgumentException("roll " + roll + " is not below the total weight " + totalWeight());
  }
}
