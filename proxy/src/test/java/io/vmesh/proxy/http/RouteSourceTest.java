package io.vmesh.proxy.http;

import static io.vmesh.proxy.config.XdsFixtures.cla;
import static io.vmesh.proxy.config.XdsFixtures.eds;
import static io.vmesh.proxy.config.XdsFixtures.http;
import static io.vmesh.proxy.config.XdsFixtures.routes;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import io.vmesh.proxy.config.XdsFixtures;
import io.vmesh.proxy.config.XdsResources;
import io.vmesh.proxy.config.XdsResources.Type;
import io.vmesh.proxy.listener.FilterChainMatcher.Connection;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Which routes a connection's next request follows: RDS's current table, inline routes as accepted. */
class RouteSourceTest {

  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-26T12:00:00Z"), ZoneOffset.UTC);

  @Test
  void rdsRoutesAreResolvedPerRequestAndTheLastOneServesWhenTheNameIsGone() throws Exception {
    Bootstrap bootstrap = BootstrapLoader.parse(XdsFixtures.adsBootstrap("STATIC", "127.0.0.1", 15010), false);
    XdsResources base = XdsResources.EMPTY
        .with(Type.CLUSTER, Map.of("a", eds("a", ""), "b", eds("b", "")), "c1", CLOCK.instant())
        .with(Type.ENDPOINT, Map.of("a", cla("a", 1001), "b", cla("b", 1002)), "e1", CLOCK.instant())
        .with(Type.LISTENER, Map.of("http", http("http", 8080, "web")), "l1", CLOCK.instant());
    RuntimeConfig toA = RuntimeConfigBuilder.build(bootstrap, base.with(Type.ROUTE, Map.of("web", routes("web", "a")), "r1",
        CLOCK.instant()), null, CLOCK);
    AtomicReference<RuntimeConfig> running = new AtomicReference<>(toA);
    HttpConnectionManagerConfig hcm = toA.listeners().get("http").chainFor(Connection.tcp(new InetSocketAddress("127.0.0.1", 8080),
        new InetSocketAddress("127.0.0.1", 40000))).orElseThrow().http();
    assertThat(hcm.rdsName()).isEqualTo("web");
    RouteSource source = new RouteSource(hcm, toA, running::get);
    assertThat(cluster(source.next())).isEqualTo("a");
    assertThat(source.next().config()).isSameAs(toA);

    RuntimeConfig toB = RuntimeConfigBuilder.build(bootstrap, toA.xds().with(Type.ROUTE, Map.of("web", routes("web", "b")), "r2",
        CLOCK.instant()), toA, CLOCK);
    running.set(toB);
    RouteSource.Routing routing = source.next();
    assertThat(cluster(routing)).isEqualTo("b");
    assertThat(routing.config()).as("the clusters of the configuration the routes came with").isSameAs(toB);

    // the listener removed: its routes are no longer kept, its draining connections go on by the last ones
    XdsResources noListener = toB.xds().with(Type.LISTENER, Map.of(), "l2", CLOCK.instant());
    RuntimeConfig removed = RuntimeConfigBuilder.build(bootstrap, noListener.retain(java.util.Set.of("a", "b"), java.util.Set.of()),
        toB, CLOCK);
    assertThat(removed.routeTable("web")).isEmpty();
    running.set(removed);
    assertThat(cluster(source.next())).isEqualTo("b");
    assertThat(source.next().config()).isSameAs(toB);
  }

  @Test
  void inlineRoutesStayThoseTheConnectionWasAcceptedWith() throws Exception {
    RuntimeConfig accepted = RuntimeConfigBuilder.build(BootstrapLoader.parse("static_resources: {}", false), CLOCK);
    RouteTable inline = new RouteTable("inline", List.of());
    AtomicReference<RuntimeConfig> running = new AtomicReference<>(accepted);
    RouteSource source = new RouteSource(new HttpConnectionManagerConfig("in", inline), accepted, running::get);
    running.set(RuntimeConfigBuilder.build(BootstrapLoader.parse("static_resources: {}", false), CLOCK));
    assertThat(source.next().table()).isSameAs(inline);
    assertThat(source.next().config()).isSameAs(accepted);
  }

  private static String cluster(RouteSource.Routing routing) {
    return routing.table().route("host", "/", h -> null).orElseThrow().action().clusters().pick();
  }
}
