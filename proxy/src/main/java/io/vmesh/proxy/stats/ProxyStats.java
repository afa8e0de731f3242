package io.vmesh.proxy.stats;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The proxy's counters, named the way Envoy names its stats ({@code listener.<name>.*},
 * {@code cluster.<name>.*}) so that {@code /stats} reads like Envoy's admin output.
 */
public final class ProxyStats {

  private final MeterRegistry registry;

  public final Counter outboundAccepted;
  public final Counter outboundLoopRefused;
  public final AtomicLong outboundActive = new AtomicLong();
  public final Counter passthroughConnections;
  public final Counter passthroughConnectFailures;
  public final Counter passthroughBytesSent;
  public final Counter passthroughBytesReceived;

  public ProxyStats() {
    this(new SimpleMeterRegistry());
  }

  public ProxyStats(MeterRegistry registry) {
    this.registry = registry;
    outboundAccepted = registry.counter("listener.virtualOutbound.downstream_cx_total");
    outboundLoopRefused = registry.counter("listener.virtualOutbound.downstream_cx_loop_refused");
    registry.gauge("listener.virtualOutbound.downstream_cx_active", outboundActive);
    passthroughConnections = registry.counter("cluster.PassthroughCluster.upstream_cx_total");
    passthroughConnectFailures = registry.counter("cluster.PassthroughCluster.upstream_cx_connect_fail");
    passthroughBytesSent = registry.counter("cluster.PassthroughCluster.upstream_cx_tx_bytes_total");
    passthroughBytesReceived = registry.counter("cluster.PassthroughCluster.upstream_cx_rx_bytes_total");
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
