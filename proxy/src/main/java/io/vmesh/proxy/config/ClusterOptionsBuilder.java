package io.vmesh.proxy.config;

import com.google.protobuf.Duration;
import com.google.protobuf.UInt32Value;
import io.vmesh.proxy.cluster.OutlierDetection;
import java.util.List;

/** A cluster's {@code outlier_detection}, checked field by field, with Envoy's defaults for what is not set. */
final class ClusterOptionsBuilder {

  private ClusterOptionsBuilder() {
  }

  static OutlierDetection outlierDetection(io.envoyproxy.envoy.config.cluster.v3.OutlierDetection od, String at, List<String> problems) {
    OutlierDetection d = OutlierDetection.ENVOY_DEFAULTS;
    int consecutive5xx = count(od.hasConsecutive5Xx(), od.getConsecutive5Xx(), d.consecutive5xx());
    int gateway = count(od.hasConsecutiveGatewayFailure(), od.getConsecutiveGatewayFailure(), d.consecutiveGatewayFailure());
    int enforcing5xx = percent(od.hasEnforcingConsecutive5Xx(), od.getEnforcingConsecutive5Xx(), d.enforcingConsecutive5xx(),
        at + ".enforcing_consecutive_5xx", problems);
    int enforcingGateway = percent(od.hasEnforcingConsecutiveGatewayFailure(), od.getEnforcingConsecutiveGatewayFailure(),
        d.enforcingConsecutiveGatewayFailure(), at + ".enforcing_consecutive_gateway_failure", problems);
    int maxPercent = percent(od.hasMaxEjectionPercent(), od.getMaxEjectionPercent(), d.maxEjectionPercent(),
        at + ".max_ejection_percent", problems);
    long interval = positive(od.hasInterval(), od.getInterval(), d.intervalMillis(), at + ".interval", problems);
    long base = positive(od.hasBaseEjectionTime(), od.getBaseEjectionTime(), d.baseEjectionMillis(), at + ".base_ejection_time", problems);
    long max = positive(od.hasMaxEjectionTime(), od.getMaxEjectionTime(), d.maxEjectionMillis(), at + ".max_ejection_time", problems);
    return new OutlierDetection(consecutive5xx, gateway, enforcing5xx, enforcingGateway, interval, base, maxPercent, max);
  }

  private static int count(boolean set, UInt32Value value, int fallback) {
    // a UInt32Value is never negative; 0 turns that detection off
    return set ? (int) Math.min(Integer.MAX_VALUE, Integer.toUnsignedLong(value.getValue())) : fallback;
  }

  private static int percent(boolean set, UInt32Value value, int fallback, String at, List<String> problems) {
    if (!set) {
      return fallback;
    }
    long v = Integer.toUnsignedLong(value.getValue());
    if (v > 100) {
      problems.add(ConfigException.at(at, "must be a percentage between 0 and 100, got " + v));
    }
    return (int) Math.min(100, v);
  }

  private static long positive(boolean set, Duration d, long fallback, String at, List<String> problems) {
    if (!set) {
      return fallback;
    }
    long millis = d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
    if (millis < 1) {
      problems.add(ConfigException.at(at, "must be at least 1ms"));
      return fallback;
    }
    return millis;
  }
}
