package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vmesh.proxy.cluster.WeightedClusters;
import io.vmesh.proxy.http.RouteTable.HeaderMatch;
import io.vmesh.proxy.http.RouteTable.PathMatch;
import io.vmesh.proxy.http.RouteTable.Route;
import io.vmesh.proxy.http.RouteTable.RouteAction;
import io.vmesh.proxy.http.RouteTable.VirtualHost;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Route selection with Envoy's documented semantics: virtual host precedence, then the first matching route. */
class RouteTableTest {

  private static Route to(String cluster, PathMatch path, HeaderMatch... headers) {
    return new Route(cluster, path, List.of(headers), new RouteAction(WeightedClusters.single(cluster), 0, RouteTable.RetryPolicy.NONE));
  }

  private static VirtualHost host(String name, String... domains) {
    return new VirtualHost(name, List.of(domains), List.of(to(name, PathMatch.prefix("/"))));
  }

  private static String hostFor(RouteTable table, String host) {
    return table.virtualHost(host).map(VirtualHost::name).orElse("none");
  }

  @Test
  void exactThenLongestSuffixThenLongestPrefixThenAny() {
    RouteTable table = new RouteTable("r", List.of(
        host("any", "*"),
        host("prefix", "foo.*"),
        host("longerPrefix", "foo.bar.*"),
        host("suffix", "*.example.com"),
        host("longerSuffix", "*.api.example.com"),
        host("exact", "foo.example.com", "reviews:9080")));
    assertThat(hostFor(table, "foo.example.com")).isEqualTo("exact");
    assertThat(hostFor(table, "FOO.Example.com")).isEqualTo("exact");
    assertThat(hostFor(table, "reviews:9080")).isEqualTo("exact");
    assertThat(hostFor(table, "reviews")).isEqualTo("any");
    assertThat(hostFor(table, "v1.api.example.com")).isEqualTo("longerSuffix");
    assertThat(hostFor(table, "foo.bar.example.com")).isEqualTo("suffix"); // a suffix wildcard beats a prefix one
    assertThat(hostFor(table, "foo.bar.org")).isEqualTo("longerPrefix");
    assertThat(hostFor(table, "foo.org")).isEqualTo("prefix");
    assertThat(hostFor(table, ".example.com")).isEqualTo("any"); // a wildcard never matches nothing
    assertThat(hostFor(table, null)).isEqualTo("any");
    assertThat(hostFor(new RouteTable("r", List.of(host("only", "a.com"))), "b.com")).isEqualTo("none");
  }

  @Test
  void aDomainInTwoVirtualHostsIsRefused() {
    assertThatThrownBy(() -> new RouteTable("r", List.of(host("a", "x.com"), host("b", "X.com"))))
        .hasMessage("domain 'X.com' is already in virtual host 'a'");
  }

  @Test
  void theFirstMatchingRouteWinsWithPathRulesAsEnvoyDefinesThem() {
    RouteTable table = new RouteTable("r", List.of(new VirtualHost("v", List.of("*"), List.of(
        to("exact", PathMatch.path("/api")),
        to("regex", PathMatch.regex("/api/v[0-9]+/.*")),
        to("header", PathMatch.prefix("/api"), new HeaderMatch("X-User", HeaderMatch.Kind.EXACT, "jason", true)),
        to("headerPrefix", PathMatch.prefix("/api"), new HeaderMatch("x-user", HeaderMatch.Kind.PREFIX, "ja", true)),
        to("absent", PathMatch.prefix("/api"), new HeaderMatch("x-user", HeaderMatch.Kind.PRESENT, null, false)),
        to("method", PathMatch.prefix("/"), new HeaderMatch(":method", HeaderMatch.Kind.EXACT, "POST", true)),
        to("prefix", PathMatch.prefix("/"))))));
    Function<String, String> none = name -> null;
    assertThat(route(table, "/api?x=1", none)).isEqualTo("exact"); // path ignores the query
    assertThat(route(table, "/api/v2/items?x=1", none)).isEqualTo("regex"); // so does safe_regex
    assertThat(route(table, "/api/vX/items", none)).isEqualTo("absent");
    assertThat(route(table, "/api/vX/items", Map.of("x-user", "jason")::get)).isEqualTo("header");
    assertThat(route(table, "/api/vX/items", Map.of("x-user", "jane")::get)).isEqualTo("headerPrefix");
    assertThat(route(table, "/api/vX/items", Map.of("x-user", "bob")::get)).isEqualTo("prefix");
    assertThat(route(table, "/other", Map.of(":method", "POST")::get)).isEqualTo("method");
    assertThat(route(table, "/apix", none)).isEqualTo("absent"); // prefix is a plain string prefix
  }

  @Test
  void weightedClustersSplitWithinStatisticalBounds() {
    WeightedClusters split = new WeightedClusters(List.of("v1", "v2", "v3"), List.of(70, 20, 10));
    int n = 100_000;
    int[] counts = new int[3];
    for (int i = 0; i < n; i++) {
      counts[split.clusters().indexOf(split.pick())]++;
    }
    // each bound is more than 6 standard deviations (at most 145) away from the expected count
    assertThat(counts[0]).isBetween(69_000, 71_000);
    assertThat(counts[1]).isBetween(19_100, 20_900);
    assertThat(counts[2]).isBetween(9_300, 10_700);
    assertThat(split.clusterAt(0)).isEqualTo("v1");
    assertThat(split.clusterAt(69)).isEqualTo("v1");
    assertThat(split.clusterAt(70)).isEqualTo("v2");
    assertThat(split.clusterAt(99)).isEqualTo("v3");
  }

  private static String route(RouteTable table, String path, Function<String, String> headers) {
    Optional<Route> r = table.route("any.host", path, headers);
    return r.map(Route::name).orElse("none");
  }
}
