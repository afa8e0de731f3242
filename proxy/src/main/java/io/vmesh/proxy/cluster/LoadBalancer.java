package io.vmesh.proxy.cluster;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Picks an endpoint of one cluster: {@code ROUND_ROBIN}, or {@code LEAST_REQUEST} (Envoy's default
 * "power of two choices": two hosts at random, the one with fewer requests or connections in flight);
 * hosts ejected by outlier detection are skipped. Like Envoy, when fewer than half the hosts are
 * available (its default {@code healthy_panic_threshold}) every host is used. Shared by all event loops,
 * so its state is atomic; time comes from the injected clock.
 */
public final class LoadBalancer {

  public enum Policy { ROUND_ROBIN, LEAST_REQUEST }

  /** Envoy's default {@code healthy_panic_threshold}, in percent. */
  static final int PANIC_THRESHOLD_PERCENT = 50;

  /** One endpoint and what is known of it. */
  public static final class Host {
    final InetSocketAddress address;
    final AtomicInteger active = new AtomicInteger();
    // guarded by the balancer's lock: outlier state changes together
    int consecutive5xx;
    int consecutiveGatewayFailures;
    long ejectedAtMillis = -1;
    long ejectedForMillis;
    int ejections;
    long healthySinceMillis;

    Host(InetSocketAddress address) {
      this.address = address;
    }

    public InetSocketAddress address() {
      return address;
    }

    public int active() {
      return active.get();
    }
  }

  private final Policy policy;
  private final OutlierDetection outlier;
  private final LongSupplier nowMillis;
  private final List<Host> hosts;
  private final Map<InetSocketAddress, Host> byAddress = new HashMap<>();
  private final AtomicInteger next = new AtomicInteger();
  private int ejectedNow;

  /** @param outlier null for no outlier detection */
  public LoadBalancer(List<InetSocketAddress> endpoints, Policy policy, OutlierDetection outlier, Clock clock) {
    this.policy = policy;
    this.outlier = outlier;
    this.nowMillis = clock::millis;
    List<Host> list = new ArrayList<>();
    for (InetSocketAddress a : endpoints) {
      Host h = byAddress.computeIfAbsent(a, Host::new);
      if (!list.contains(h)) {
        list.add(h);
      }
    }
    this.hosts = List.copyOf(list);
  }

  public Policy policy() {
    return policy;
  }

  public Optional<OutlierDetection> outlierDetection() {
    return Optional.ofNullable(outlier);
  }

  /** The next endpoint by the policy; empty when there is none at all. */
  public Optional<InetSocketAddress> pick() {
    if (hosts.isEmpty()) {
      return Optional.empty();
    }
    List<Host> candidates = available();
    if (candidates.size() == 1) {
      return Optional.of(candidates.get(0).address);
    }
    if (policy == Policy.LEAST_REQUEST) {
      ThreadLocalRandom r = ThreadLocalRandom.current();
      int i = r.nextInt(candidates.size());
      int j = r.nextInt(candidates.size() - 1);
      if (j >= i) {
        j++;
      }
      Host a = candidates.get(i);
      Host b = candidates.get(j);
      return Optional.of((b.active.get() < a.active.get() ? b : a).address);
    }
    return Optional.of(candidates.get(Math.floorMod(next.getAndIncrement(), candidates.size())).address);
  }

  /** The hosts not ejected; all of them when that is under the panic threshold. */
  private List<Host> available() {
    if (outlier == null) {
      return hosts;
    }
    synchronized (this) {
      readmitDue();
      if (ejectedNow == 0) {
        return hosts;
      }
      List<Host> in = new ArrayList<>(hosts.size());
      for (Host h : hosts) {
        if (h.ejectedAtMillis < 0) {
          in.add(h);
        }
      }
      return in.size() * 100 < PANIC_THRESHOLD_PERCENT * hosts.size() ? hosts : in;
    }
  }

  /** A request or connection to {@code host} starts (LEAST_REQUEST counts them). */
  public void started(InetSocketAddress host) {
    Host h = byAddress.get(host);
    if (h != null) {
      h.active.incrementAndGet();
    }
  }

  /** ... and ends. */
  public void ended(InetSocketAddress host) {
    Host h = byAddress.get(host);
    if (h != null) {
      h.active.decrementAndGet();
    }
  }

  /** Requests or connections in flight to {@code host}; 0 for an address that is not an endpoint. */
  public int inFlight(InetSocketAddress host) {
    Host h = byAddress.get(host);
    return h == null ? 0 : h.active.get();
  }

  /** The connection to {@code host} could not be made: a gateway failure, and a 5xx, in outlier detection's terms (as Envoy maps it). */
  public boolean connectFailed(InetSocketAddress host) {
    return result(host, 503);
  }

  /**
   * {@code host} answered with {@code status}; a TCP connection that was made counts as a success (200).
   *
   * @return whether this ejected the host
   */
  public boolean result(InetSocketAddress host, int status) {
    Host h = byAddress.get(host);
    if (outlier == null || h == null) {
      return false;
    }
    synchronized (this) {
      readmitDue();
      if (status >= 500) {
        h.consecutive5xx++;
        // Envoy's gateway failures: 502, 503, 504 (connect failures are reported as 503)
        if (status >= 502 && status <= 504) {
          h.consecutiveGatewayFailures++;
        } else {
          h.consecutiveGatewayFailures = 0;
        }
      } else {
        h.consecutive5xx = 0;
        h.consecutiveGatewayFailures = 0;
        return false;
      }
      if (h.ejectedAtMillis >= 0) {
        return false;
      }
      boolean by5xx = outlier.consecutive5xx() > 0 && h.consecutive5xx >= outlier.consecutive5xx()
          && enforced(outlier.enforcingConsecutive5xx());
      boolean byGateway = outlier.consecutiveGatewayFailure() > 0
          && h.consecutiveGatewayFailures >= outlier.consecutiveGatewayFailure()
          && enforced(outlier.enforcingConsecutiveGatewayFailure());
      if ((by5xx || byGateway) && mayEject()) {
        eject(h);
        return true;
      }
      return false;
    }
  }

  /** Whether {@code host} is ejected now. */
  public boolean ejected(InetSocketAddress host) {
    Host h = byAddress.get(host);
    if (outlier == null || h == null) {
      return false;
    }
    synchronized (this) {
      readmitDue();
      return h.ejectedAtMillis >= 0;
    }
  }

  public synchronized int ejectedCount() {
    if (outlier != null) {
      readmitDue();
    }
    return ejectedNow;
  }

  private static boolean enforced(int percent) {
    return percent >= 100 || (percent > 0 && ThreadLocalRandom.current().nextInt(100) < percent);
  }

  /** Envoy ejects at least one host, and more only within {@code max_ejection_percent}. */
  private boolean mayEject() {
    return ejectedNow == 0 || (ejectedNow + 1) * 100 <= outlier.maxEjectionPercent() * hosts.size();
  }

  private void eject(Host h) {
    long now = nowMillis.getAsLong();
    // Envoy's multiplier: the ejection lasts base_ejection_time times the number of times it happened,
    // and a host that stays healthy for an interval earns one step back
    long healthyIntervals = outlier.intervalMillis() > 0 && h.ejections > 0
        ? Math.max(0, now - h.healthySinceMillis) / outlier.intervalMillis() : 0;
    h.ejections = (int) Math.max(0, h.ejections - healthyIntervals) + 1;
    h.ejectedAtMillis = now;
    h.ejectedForMillis = Math.min(outlier.baseEjectionMillis() * h.ejections,
        Math.max(outlier.baseEjectionMillis(), outlier.maxEjectionMillis()));
    h.consecutive5xx = 0;
    h.consecutiveGatewayFailures = 0;
    ejectedNow++;
  }

  /**
   * Re-admits hosts whose ejection ({@code base_ejection_time} × multiplier, at most
   * {@code max_ejection_time}) has run out. Envoy checks at each {@code interval} tick; this checks on
   * every pick and every result, so a host comes back as soon as its time is up.
   */
  private void readmitDue() {
    if (ejectedNow == 0) {
      return;
    }
    long now = nowMillis.getAsLong();
    for (Host h : hosts) {
      if (h.ejectedAtMillis >= 0 && now - h.ejectedAtMillis >= h.ejectedForMillis) {
        h.ejectedAtMillis = -1;
        h.healthySinceMillis = now;
        ejectedNow--;
      }
    }
  }
}
