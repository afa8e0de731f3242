package io.vmesh.proxy.config;

import static io.vmesh.proxy.config.XdsFixtures.cla;
import static io.vmesh.proxy.config.XdsFixtures.eds;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.config.XdsResources.Type;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Envoy's state-of-the-world rules per type, and versions that stay with unchanged resources. */
class XdsResourcesTest {

  private static final Instant T1 = Instant.parse("2026-11-26T12:00:00Z");
  private static final Instant T2 = Instant.parse("2026-11-26T12:01:00Z");

  @Test
  void clustersAndListenersAreReplacedWholeEndpointsAndRoutesByName() {
    XdsResources first = XdsResources.EMPTY
        .with(Type.CLUSTER, Map.of("a", eds("a", ""), "b", eds("b", "")), "c1", T1)
        .with(Type.ENDPOINT, Map.of("a", cla("a", 7001), "b", cla("b", 7002)), "e1", T1);

    XdsResources next = first.with(Type.CLUSTER, Map.of("a", eds("a", "")), "c2", T2)
        .with(Type.ENDPOINT, Map.of("a", cla("a", 7003)), "e2", T2);

    assertThat(next.clusters()).containsOnlyKeys("a");
    assertThat(next.clusters().get("a").version()).as("unchanged: keeps the version it came with").isEqualTo("c1");
    assertThat(next.endpoints()).containsOnlyKeys("a", "b");
    assertThat(next.endpoints().get("a").version()).isEqualTo("e2");
    assertThat(next.endpoints().get("b").lastUpdated()).isEqualTo(T1);
    assertThat(next.versions()).containsEntry(Type.CLUSTER, "c2").containsEntry(Type.ENDPOINT, "e2");
    assertThat(next.retain(Set.of("a"), Set.of()).endpoints()).containsOnlyKeys("a");
  }
}
