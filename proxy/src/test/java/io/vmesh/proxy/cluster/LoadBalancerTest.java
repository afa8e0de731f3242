package io.vmesh.proxy.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Ejection times as Envoy counts them: base × multiplier, capped, the multiplier earned back by healthy intervals. */
class LoadBalancerTest {

  private static final InetSocketAddress A = new InetSocketAddress("10.0.0.1", 80);
  private static final InetSocketAddress B = new InetSocketAddress("10.0.0.2", 80);

  private long now = Instant.parse("2026-11-26T12:00:00Z").toEpochMilli();
  private final Clock clock = new Clock() {
    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(now);
    }
  };

  @Test
  void aSecondEjectionLastsTwiceAsLongAndHealthyIntervalsWinTheMultiplierBack() {
    LoadBalancer lb = new LoadBalancer(List.of(A, B), LoadBalancer.Policy.ROUND_ROBIN,
        new OutlierDetection(1, 0, 100, 0, 10_000, 30_000, 50, 300_000), clock);

    assertThat(lb.result(A, 500)).isTrue();
    now += 29_999;
    assertThat(lb.ejected(A)).isTrue();
    now += 1;
    assertThat(lb.ejected(A)).as("30 s × 1").isFalse();

    assertThat(lb.result(A, 502)).isTrue();
    now += 59_999;
    assertThat(lb.ejected(A)).isTrue();
    now += 1;
    assertThat(lb.ejected(A)).as("30 s × 2").isFalse();

    now += 20_000; // two healthy intervals: the multiplier goes from 2 back to 0
    assertThat(lb.result(A, 503)).isTrue();
    now += 30_000;
    assertThat(lb.ejected(A)).as("30 s × 1 again").isFalse();
  }

  @Test
  void gatewayFailuresCountOnlyWhenEnforcedAndAnyOtherAnswerResetsTheCount() {
    LoadBalancer lb = new LoadBalancer(List.of(A, B), LoadBalancer.Policy.ROUND_ROBIN,
        new OutlierDetection(0, 2, 100, 100, 10_000, 30_000, 50, 300_000), clock);
    assertThat(lb.connectFailed(A)).isFalse();
    assertThat(lb.result(A, 500)).as("a 500 is not a gateway failure: the count starts again").isFalse();
    assertThat(lb.result(A, 504)).isFalse();
    assertThat(lb.connectFailed(A)).isTrue();
    assertThat(lb.pick()).contains(B);
    assertThat(lb.pick()).contains(B);

    LoadBalancer notEnforced = new LoadBalancer(List.of(A, B), LoadBalancer.Policy.ROUND_ROBIN,
        new OutlierDetection(0, 2, 100, 0, 10_000, 30_000, 50, 300_000), clock);
    notEnforced.connectFailed(A);
    assertThat(notEnforced.connectFailed(A)).as("Envoy's default enforcing_consecutive_gateway_failure is 0").isFalse();
  }

  @Test
  void anEjectionNeverLastsLongerThanMaxEjectionTime() {
    LoadBalancer lb = new LoadBalancer(List.of(A, B), LoadBalancer.Policy.LEAST_REQUEST,
        new OutlierDetection(1, 0, 100, 0, 1_000_000, 30_000, 50, 45_000), clock);
    lb.result(A, 500);
    now += 30_000;
    lb.result(A, 500); // second ejection: 60 s, capped at 45 s
    now += 45_000;
    assertThat(lb.ejected(A)).isFalse();
    assertThat(lb.ejectedCount()).isZero();
  }
}
