package io.vmesh.operator.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SnapshotComparisonTest {

  @Test
  void twoGenerationsOfTheSameStateAreTheSameAndDifferentProxiesAreNot() {
    Map<String, ProxySnapshot> before = GoldenCases.snapshots("outbound-policy");
    Map<String, ProxySnapshot> after = GoldenCases.snapshots("outbound-policy");
    SnapshotComparison comparison = new SnapshotComparison();
    assertThat(before.get("locked")).isNotSameAs(after.get("locked"));
    assertThat(comparison.same(before.get("locked"), after.get("locked"))).isTrue();
    assertThat(comparison.same(before.get("free"), after.get("free"))).isTrue();
    // after pairs were remembered as equal, a real difference still shows
    assertThat(comparison.same(before.get("locked"), after.get("free"))).isFalse();
    assertThat(comparison.same(before.get("locked"), null)).isFalse();
  }
}
