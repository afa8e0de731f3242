package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.operator.xds.ProxyId;
import io.vmesh.operator.xds.ProxySnapshot;
import io.vmesh.operator.xds.ProxySync;
import io.vmesh.operator.xds.SyncReport;
import io.vmesh.operator.xds.SyncState;
import io.vmesh.operator.xds.TypeSync;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code vmesh-operator proxy-status} in process, reading the sync report over HTTP from the operator's health server. */
class ProxyStatusCommandTest {

  private static final Instant T = Instant.parse("2026-11-26T10:00:00Z");
  private HealthServer health;
  private String url;

  @BeforeEach
  void serve() throws Exception {
    TypeSync synced = new TypeSync(SyncState.SYNCED, "v1", "1", T, Map.of("outbound|80||reviews", "aa"), "v1",
        Map.of("outbound|80||reviews", "aa"), null);
    TypeSync rejected = new TypeSync(SyncState.REJECTED, "v2", "7", T, Map.of("0.0.0.0_9080", "bb", "virtualInbound", "cc"), "v1",
        Map.of("0.0.0.0_9080", "b0", "0.0.0.0_8080", "dd", "virtualInbound", "cc"), "listeners[0]: redis_proxy is not supported");
    Map<String, TypeSync> web = new LinkedHashMap<>();
    web.put(ProxySnapshot.CLUSTER_TYPE, synced);
    web.put(ProxySnapshot.LISTENER_TYPE, rejected);
    Map<String, TypeSync> db = new LinkedHashMap<>();
    db.put(ProxySnapshot.CLUSTER_TYPE, new TypeSync(SyncState.STALE, "v9", "9", T, Map.of("c", "ee"), "", Map.of(), null));
    List<ProxySync> proxies = List.of(
        new ProxySync(new ProxyId("shop", "db-0"), "sidecar~10.0.0.9~db-0.shop~shop.svc.cluster.local", "", T, db),
        new ProxySync(new ProxyId("shop", "web-1"), "sidecar~10.0.0.1~web-1.shop~shop.svc.cluster.local", "vmesh-proxy/0.1.0", T, web));
    health = new HealthServer("127.0.0.1", 0, () -> true, () -> true);
    health.json(SyncReport.PATH, () -> SyncReport.of(proxies).toString());
    health.start();
    url = "http://127.0.0.1:" + health.port();
  }

  @AfterEach
  void stop() {
    health.stop();
  }

  @Test
  void oneLinePerProxyLikeIstioctl() {
    InjectCommandTest.Run run = InjectCommandTest.run("proxy-status", "--operator", url);
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out().lines().toList()).containsExactly(
        "NAME         CDS      LDS        EDS        RDS        VERSION",
        "db-0.shop    STALE    NOT SENT   NOT SENT   NOT SENT   -",
        "web-1.shop   SYNCED   REJECTED   NOT SENT   NOT SENT   vmesh-proxy/0.1.0");
  }

  @Test
  void onePodShowsTheErrorAndWhatDiffersBetweenSentAndAcked() {
    InjectCommandTest.Run run = InjectCommandTest.run("proxy-status", "web-1.shop", "--operator", url);
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).contains("Proxy web-1.shop (node sidecar~10.0.0.1~web-1.shop~shop.svc.cluster.local), connected 2026-11-26T10:00:00Z: REJECTED")
        .contains("CDS  SYNCED    sent v1               acked v1")
        .contains("     sent and acked match (1 resources)")
        .contains("LDS  REJECTED  sent v2               acked v1")
        .contains("     rejected: listeners[0]: redis_proxy is not supported")
        .contains("     sent but not acked:\n       - 0.0.0.0_8080\n       ~ 0.0.0.0_9080\n")
        .doesNotContain("virtualInbound");
  }

  @Test
  void unknownPodBadNameAndNoOperatorAreClearErrors() {
    InjectCommandTest.Run missing = InjectCommandTest.run("proxy-status", "web-9.shop", "--operator", url);
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.err()).contains("web-9.shop is not connected to the operator");

    InjectCommandTest.Run badName = InjectCommandTest.run("proxy-status", "web-1", "--operator", url);
    assertThat(badName.exit()).isEqualTo(2);
    assertThat(badName.err()).contains("<pod>.<namespace>");

    health.stop();
    InjectCommandTest.Run down = InjectCommandTest.run("proxy-status", "--operator", url);
    assertThat(down.exit()).isEqualTo(1);
    assertThat(down.err()).contains("cannot read " + url + "/debug/syncz").contains("--operator");
  }
}
