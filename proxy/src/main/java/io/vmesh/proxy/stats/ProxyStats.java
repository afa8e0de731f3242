package io.vmesh.proxy.stats;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The proxy's counters, named the way Envoy names its stats ({@code listener.<name>.*},
 * {@code cluster.<name>.*}) so that {@code /stats} reads like Envoy's admin output. A listener's or
 * cluster's stats exist (at zero) from the moment its configuration is loaded.
 */
public final class ProxyStats {

  /** One listener's stats. */
  public static final class ListenerStats {
    public final Counter accepted;
    public final Counter loopRefused;
    public final Counter noFilterChainMatch;
    public final Counter listenerFilterTimeout;
    public final AtomicLong active = new AtomicLong();

    ListenerStats(MeterRegistry registry, String name) {
      String p = "listener." + name + ".";
      accepted = registry.counter(p + "downstream_cx_total");
      loopRefused = registry.counter(p + "downstream_cx_loop_refused");
      noFilterChainMatch = registry.counter(p + "no_filter_chain_match");
      listenerFilterTimeout = registry.counter(p + "downstream_pre_cx_timeout");
      registry.gauge(p + "downstream_cx_active", active);
    }
  }

  /** One cluster's stats. */
  public static final class ClusterStats {
    public final Counter connections;
    public final Counter connectFailures;
    public final Counter noneHealthy;
    public final Counter bytesSent;
    public final Counter bytesReceived;
    public final Counter requests;
    public final Counter requests2xx;
    public final Counter requests3xx;
    public final Counter requests4xx;
    public final Counter requests5xx;
    public final Counter retries;
    public final Counter timeouts;

    ClusterStats(MeterRegistry registry, String name) {
      String p = "cluster." + name + ".";
      connections = registry.counter(p + "upstream_cx_total");
      connectFailures = registry.counter(p + "upstream_cx_connect_fail");
      noneHealthy = registry.counter(p + "upstream_cx_none_healthy");
      bytesSent = registry.counter(p + "upstream_cx_tx_bytes_total");
      bytesReceived = registry.counter(p + "upstream_cx_rx_bytes_total");
      requests = registry.counter(p + "upstream_rq_total");
      requests2xx = registry.counter(p + "upstream_rq_2xx");
      requests3xx = registry.counter(p + "upstream_rq_3xx");
      requests4xx = registry.counter(p + "upstream_rq_4xx");
      requests5xx = registry.counter(p + "upstream_rq_5xx");
      retries = registry.counter(p + "upstream_rq_retry");
      timeouts = registry.counter(p + "upstream_rq_timeout");
    }

    /** Counts one upstream response by its status class. */
    public void response(int status) {
      switch (status / 100) {
        case 2 -> requests2xx.increment();
        case 3 -> requests3xx.increment();
        case 4 -> requests4xx.increment();
        case 5 -> requests5xx.increment();
        default -> { }
      }
    }
  }

  private final MeterRegistry registry;
  private final Map<String, ListenerStats> listeners = new ConcurrentHashMap<>();
  private final Map<String, ClusterStats> clusters = new ConcurrentHashMap<>();

  public ProxyStats() {
    this(new SimpleMeterRegistry());
  }

  public ProxyStats(MeterRegistry registry) {
    this.registry = registry;
  }

  public ListenerStats listener(String name) {
    return listeners.computeIfAbsent(name, n -> new ListenerStats(registry, n));
  }

  public ClusterStats cluster(String name) {
    return clusters.computeIfAbsent(name, n -> new ClusterStats(registry, n));
  }

  /** Every stat as {@code name: value} lines, sorted by name, like Envoy's {@code /stats}. */
  public String text() {
    StringBuilder sb = new StringBuilder();
    registry.getMeters().stream()
        .sorted(Comparator.comparing(m -> m.getId().getName()))
        .forEach(m -> sb.append(m.getId().getName()).append(": ").append(value(m)).append('\n'));
    return sb.toString();
  }

  private static long value(Meter meter) {
    double sum = 0;
    for (var measurement : meter.measure()) {
      sum += measurement.getValue();
    }
    return (long) sum;
  }
}
