package io.vmesh.proxy.stats;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The proxy's stats, one Micrometer registry for both views: admin {@code /stats} prints each counter
 * and gauge under its Envoy name ({@code listener.<name>.downstream_cx_total}, {@code cluster.<name>.*},
 * {@code tcp.<stat_prefix>.*}, {@code http.<stat_prefix>.*}), and {@code /stats/prometheus} prints the
 * same meters the way Istio's Envoy sidecars do: the name's variable parts become labels
 * ({@code envoy_cluster_upstream_cx_total{envoy_cluster_name="x"}}), plus latency histograms. A
 * listener's or cluster's stats exist (at zero) from the moment its configuration is loaded.
 */
public final class ProxyStats {

  /** Envoy's default histogram buckets, in milliseconds. */
  static final double[] ENVOY_BUCKETS_MS = {0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
      300000, 600000, 1800000, 3600000};

  /** One listener's stats; label {@code envoy_listener_name}. */
  public static final class ListenerStats {
    public final Counter accepted;
    public final Counter loopRefused;
    public final Counter noFilterChainMatch;
    public final Counter listenerFilterTimeout;
    public final AtomicLong active = new AtomicLong();
    /** Connection length, accept to close, in ms. */
    public final DistributionSummary connectionLength;

    ListenerStats(ProxyStats s, String name) {
      Family f = s.family("listener", name, "envoy_listener_name");
      accepted = f.counter("downstream_cx_total");
      loopRefused = f.counter("downstream_cx_loop_refused");
      noFilterChainMatch = f.counter("no_filter_chain_match");
      listenerFilterTimeout = f.counter("downstream_pre_cx_timeout");
      f.gauge("downstream_cx_active", active::get);
      connectionLength = f.histogram("downstream_cx_length_ms");
    }
  }

  /** One cluster's stats; label {@code envoy_cluster_name}. */
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
    public final Counter ejections;
    /** HTTP connections closed by the cluster's idle_timeout, and after max_requests_per_connection requests. */
    public final Counter idleTimeouts;
    public final Counter maxRequestsReached;
    // the running configuration's balancer for this cluster, for the ejections_active gauge
    private volatile IntSupplier ejectedNow = () -> 0;
    /** Time from sending a request upstream to its response's last byte, in ms. */
    public final DistributionSummary requestTime;

    ClusterStats(ProxyStats s, String name) {
      Family f = s.family("cluster", name, "envoy_cluster_name");
      connections = f.counter("upstream_cx_total");
      connectFailures = f.counter("upstream_cx_connect_fail");
      noneHealthy = f.counter("upstream_cx_none_healthy");
      bytesSent = f.counter("upstream_cx_tx_bytes_total");
      bytesReceived = f.counter("upstream_cx_rx_bytes_total");
      requests = f.counter("upstream_rq_total");
      requests2xx = f.classCounter("upstream_rq", 2);
      requests3xx = f.classCounter("upstream_rq", 3);
      requests4xx = f.classCounter("upstream_rq", 4);
      requests5xx = f.classCounter("upstream_rq", 5);
      retries = f.counter("upstream_rq_retry");
      timeouts = f.counter("upstream_rq_timeout");
      ejections = f.counter("outlier_detection.ejections_enforced_total");
      idleTimeouts = f.counter("upstream_cx_idle_timeout");
      maxRequestsReached = f.counter("upstream_cx_max_requests");
      f.gauge("outlier_detection.ejections_active", () -> ejectedNow.getAsInt());
      requestTime = f.histogram("upstream_rq_time");
    }

    /** Where {@code outlier_detection.ejections_active} reads from: the cluster of the configuration in use. */
    public void ejectedNow(IntSupplier source) {
      ejectedNow = source;
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

  /** A {@code tcp_proxy} filter's stats, by its {@code stat_prefix}; label {@code envoy_tcp_prefix}. */
  public static final class TcpStats {
    public final Counter connections;
    public final Counter bytesReceived;
    public final Counter bytesSent;
    public final Counter idleTimeouts;
    public final AtomicLong active = new AtomicLong();

    TcpStats(ProxyStats s, String prefix) {
      Family f = s.family("tcp", prefix, "envoy_tcp_prefix");
      connections = f.counter("downstream_cx_total");
      bytesReceived = f.counter("downstream_cx_rx_bytes_total");
      bytesSent = f.counter("downstream_cx_tx_bytes_total");
      idleTimeouts = f.counter("idle_timeout");
      f.gauge("downstream_cx_active", active::get);
    }
  }

  /**
   * An {@code http_connection_manager}'s stats, by its {@code stat_prefix}; label
   * {@code envoy_http_conn_manager_prefix}. Requests are counted from the access log entries, which
   * every request ends with, so the HTTP code has one place to report to.
   */
  public static final class HttpStats {
    public final Counter connections;
    public final Counter requests;
    private final Counter[] byClass = new Counter[6];
    public final DistributionSummary requestTime;
    /** Connections closed by idle_timeout, requests ended by stream_idle_timeout and by request_timeout. */
    public final Counter idleTimeouts;
    public final Counter streamIdleTimeouts;
    public final Counter requestTimeouts;
    /** Connections drained at max_connection_duration. */
    public final Counter maxDurationReached;
    /** Upgraded connections (101, then a tunnel): all of them, those open now, and upgrade requests refused (403). */
    public final Counter upgrades;
    public final AtomicLong upgradesActive = new AtomicLong();
    public final Counter upgradeRefused;

    HttpStats(ProxyStats s, String prefix) {
      Family f = s.family("http", prefix, "envoy_http_conn_manager_prefix");
      connections = f.counter("downstream_cx_total");
      requests = f.counter("downstream_rq_total");
      idleTimeouts = f.counter("downstream_cx_idle_timeout");
      streamIdleTimeouts = f.counter("downstream_rq_idle_timeout");
      requestTimeouts = f.counter("downstream_rq_timeout");
      maxDurationReached = f.counter("downstream_cx_max_duration_reached");
      upgrades = f.counter("downstream_cx_upgrades_total");
      f.gauge("downstream_cx_upgrades_active", upgradesActive::get);
      upgradeRefused = f.counter("downstream_rq_ws_on_non_ws_route");
      for (int c = 1; c <= 5; c++) {
        byClass[c] = f.classCounter("downstream_rq", c);
      }
      requestTime = f.histogram("downstream_rq_time");
    }

    /** One finished request: its status (0 when none was sent) and its duration. */
    public void request(int status, long millis) {
      requests.increment();
      int c = status / 100;
      if (c >= 1 && c <= 5) {
        byClass[c].increment();
      }
      requestTime.record(millis);
    }
  }

  private final MeterRegistry registry;
  // Envoy name -> meter: the /stats view, sorted as Envoy prints it
  private final Map<String, Meter> byEnvoyName = new ConcurrentSkipListMap<>();
  // one map per kind: the HTTP path looks a cluster up per request, so no key is built for it
  private final Map<String, ListenerStats> listeners = new ConcurrentHashMap<>();
  private final Map<String, ClusterStats> clusters = new ConcurrentHashMap<>();
  private final Map<String, TcpStats> tcps = new ConcurrentHashMap<>();
  private final Map<String, HttpStats> https = new ConcurrentHashMap<>();

  public ProxyStats() {
    this(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  public ProxyStats(MeterRegistry registry) {
    this.registry = registry;
  }

  public ListenerStats listener(String name) {
    return group(listeners, name, () -> new ListenerStats(this, name));
  }

  public ClusterStats cluster(String name) {
    return group(clusters, name, () -> new ClusterStats(this, name));
  }

  public TcpStats tcp(String statPrefix) {
    return group(tcps, statPrefix, () -> new TcpStats(this, statPrefix));
  }

  public HttpStats http(String statPrefix) {
    return group(https, statPrefix, () -> new HttpStats(this, statPrefix));
  }

  /** A gauge outside the families, such as {@code server.state}; Prometheus name with {@code envoy_} and dots as underscores. */
  public void serverGauge(String envoyName, Supplier<Number> value) {
    register(envoyName, Gauge.builder(promName(envoyName), value).strongReference(true).register(registry));
  }

  private static <T> T group(Map<String, T> groups, String name, Supplier<T> create) {
    // get first: computeIfAbsent may lock the bin even when the key is there
    T found = groups.get(name);
    return found != null ? found : groups.computeIfAbsent(name, k -> create.get());
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition of every meter, or empty text when the registry is not a Prometheus one. */
  public String prometheus() {
    return registry instanceof PrometheusMeterRegistry p ? p.scrape() : "";
  }

  /** Every counter and gauge as {@code name: value} lines, sorted by name, like Envoy's {@code /stats}. */
  public String text() {
    StringBuilder sb = new StringBuilder();
    byEnvoyName.forEach((name, meter) -> sb.append(name).append(": ").append(value(meter)).append('\n'));
    return sb.toString();
  }

  private static long value(Meter meter) {
    double sum = 0;
    for (var measurement : meter.measure()) {
      sum += measurement.getValue();
    }
    return (long) sum;
  }

  private void register(String envoyName, Meter meter) {
    byEnvoyName.put(envoyName, meter);
  }

  private static String promName(String envoyName) {
    return "envoy_" + envoyName.replace('.', '_');
  }

  private Family family(String kind, String name, String label) {
    return new Family(kind, name, Tags.of(label, name));
  }

  /** Meters named {@code <kind>.<name>.<stat>} in /stats and {@code envoy_<kind>_<stat>{label="name"}} in Prometheus. */
  private final class Family {
    private final String kind;
    private final String name;
    private final Tags tags;

    Family(String kind, String name, Tags tags) {
      this.kind = kind;
      this.name = name;
      this.tags = tags;
    }

    Counter counter(String stat) {
      Counter c = Counter.builder(promName(kind + "." + stat)).tags(tags).register(registry);
      register(kind + "." + name + "." + stat, c);
      return c;
    }

    /** Envoy's {@code <stat>_<n>xx}; in Prometheus {@code <stat>_xx} with {@code envoy_response_code_class="n"}, as Istio tags it. */
    Counter classCounter(String stat, int statusClass) {
      Counter c = Counter.builder(promName(kind + "." + stat + "_xx")).tags(tags)
          .tag("envoy_response_code_class", Integer.toString(statusClass)).register(registry);
      register(kind + "." + name + "." + stat + "_" + statusClass + "xx", c);
      return c;
    }

    void gauge(String stat, Supplier<Number> value) {
      register(kind + "." + name + "." + stat,
          Gauge.builder(promName(kind + "." + stat), value).tags(tags).strongReference(true).register(registry));
    }

    /** Prometheus only: /stats keeps to counters and gauges, whose values tests and tools parse as integers. */
    DistributionSummary histogram(String stat) {
      return DistributionSummary.builder(promName(kind + "." + stat)).tags(tags)
          .serviceLevelObjectives(ENVOY_BUCKETS_MS).register(registry);
    }
  }
}
