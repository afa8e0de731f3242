package io.vmesh.proxy.cluster;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One cluster, or several picked at random in proportion to their weights: the choice a
 * {@code tcp_proxy} makes per connection and an HTTP route makes per request.
 */
public record WeightedClusters(List<String> clusters, List<Integer> weights) {

  public WeightedClusters {
    clusters = List.copyOf(clusters);
    weights = List.copyOf(weights);
    if (clusters.isEmpty() || clusters.size() != weights.size()) {
      throw new IllegalArgumentException("one weight per cluster, at least one cluster");
    }
  }

  public static WeightedClusters single(String cluster) {
    return new WeightedClusters(List.of(cluster), List.of(1));
  }

  public long totalWeight() {
    return weights.stream().mapToLong(Integer::longValue).sum();
  }

  public String pick() {
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
