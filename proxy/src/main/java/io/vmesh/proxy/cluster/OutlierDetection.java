package io.vmesh.proxy.cluster;

/**
 * A cluster's {@code outlier_detection}, the consecutive-errors part, with Envoy's defaults for what is not set.
 *
 * @param consecutive5xx 5xx answers (connect failures included) in a row that eject a host
 * @param consecutiveGatewayFailure 502/503/504 answers (connect failures included) in a row that eject a host
 * @param enforcingConsecutive5xx percent chance that a {@code consecutive5xx} detection ejects (Envoy's default 100)
 * @param enforcingConsecutiveGatewayFailure the same for gateway failures (Envoy's default 0: detected, not enforced)
 * @param intervalMillis a host healthy for this long after an ejection steps its multiplier back by one
 * @param baseEjectionMillis an ejection lasts this times the number of times the host was ejected
 * @param maxEjectionPercent at most this share of the hosts is ejected at once (one host always may be)
 * @param maxEjectionMillis the longest an ejection lasts
 */
public record OutlierDetection(int consecutive5xx, int consecutiveGatewayFailure, int enforcingConsecutive5xx,
                               int enforcingConsecutiveGatewayFailure, long intervalMillis, long baseEjectionMillis,
                               int maxEjectionPercent, long maxEjectionMillis) {

  public static final OutlierDetection ENVOY_DEFAULTS = new OutlierDetection(5, 5, 100, 0, 10_000, 30_000, 10, 300_000);
}
