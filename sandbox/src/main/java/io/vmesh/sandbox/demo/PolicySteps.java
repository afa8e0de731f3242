package io.vmesh.sandbox.demo;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmesh.sandbox.cluster.MeshInABox;
import io.vmesh.sandbox.demo.AccessLog.Entry;
import io.vmesh.sandbox.demo.DemoCommand.StepFailed;
import io.vmesh.sandbox.demo.Pods.PodInfo;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Steps 3 and 4: MeshPolicies from {@code samples/bookinfo-lite/policies/} applied with kubectl, each followed until the
 * productpage's sidecar runs it (its {@code /config_dump}), then its effect measured with real requests: the share of
 * each reviews version, and whether the server outside the mesh can be reached.
 */
final class PolicySteps {

  private static final String POLICY = "productpage";
  private static final String ROUTE_HOST = "reviews";
  private static final String ROUTE_PORT = "9080";
  private static final String REVIEWS_URL = "http://reviews:9080/reviews";
  // a share is accepted within 4 standard deviations of the binomial count: a correct split fails about once in 15000 runs
  private static final double SIGMAS = 4;

  private final DemoCommand demo;
  private final Pods pods;
  private final PodInfo productpage;
  private final Path policies;

  PolicySteps(DemoCommand demo) {
    this.demo = demo;
    this.pods = demo.pods();
    this.productpage = pods.byApp("productpage");
    this.policies = demo.repo().resolve("samples/bookinfo-lite/policies");
  }

  // ---- step 3

  void trafficSplit() {
    demo.show("apply", "--validate=false", "-f", policies.resolve("10-reviews-versions.yaml").toString());
    pods.awaitEndpoints(Map.of("reviews-v1", 1, "reviews-v2", 1), DemoCommand.waitLimit());
    Map<String, String> versionOf = new LinkedHashMap<>();
    for (String service : List.of("reviews-v1", "reviews-v2")) {
      versionOf.put(clusterOf(service), demo.box().kubectlOk("get", "svc", service, "-n", DemoCommand.NAMESPACE, "-o",
          "jsonpath={.spec.selector.version}").stdout().strip());
    }

    demo.say("  no MeshPolicy yet: productpage's sidecar balances reviews over both pods");
    Map<String, Integer> before = measure();
    if (before.size() < 2 || before.containsKey("error")) {
      throw new StepFailed("without a policy both reviews versions should answer, without errors; counted " + before);
    }
    for (String file : List.of("20-reviews-canary.yaml", "30-reviews-v2.yaml")) {
      Map<String, Integer> weights = apply(file, this::routeWeights, PolicySteps::expectedWeights, "the route for reviews");
      Map<String, Double> expected = new LinkedHashMap<>();
      DemoCommand.shares(weights).forEach((cluster, share) -> expected.put(versionOf.get(cluster), share));
      check(expected, measure());
    }
    demo.show("get", "mp", "-n", DemoCommand.NAMESPACE);
  }

  private Map<String, Integer> measure() {
    int n = demo.requests();
    demo.say("  %d x GET %s from productpage (as its app, uid %d):", n, REVIEWS_URL, productpage.appUid());
    Map<String, Integer> counts = Http.countByVersion(pods, productpage, REVIEWS_URL, n);
    List<String> shown = new ArrayList<>();
    counts.forEach((version, k) -> shown.add(version + ": " + k));
    demo.say("    %s", String.join(", ", shown));
    return counts;
  }

  /** Each version's observed share within {@link #SIGMAS} standard deviations of its weight; weight 0 exactly none. */
  private void check(Map<String, Double> expected, Map<String, Integer> counts) {
    int n = counts.values().stream().mapToInt(Integer::intValue).sum();
    if (counts.containsKey("error")) {
      throw new StepFailed(counts.get("error") + " of " + n + " requests to reviews failed; counted " + counts);
    }
    for (String version : counts.keySet()) {
      if (!expected.containsKey(version)) {
        throw new StepFailed("reviews " + version + " should get no requests (weights " + expected + "); counted " + counts);
      }
    }
    for (Map.Entry<String, Double> e : expected.entrySet()) {
      double p = e.getValue();
      double observed = counts.getOrDefault(e.getKey(), 0) / (double) n;
      double tolerance = SIGMAS * Math.sqrt(p * (1 - p) / n);
      demo.say("    %s: weight %.0f %%, observed %.1f %% (allowed ±%.1f)", e.getKey(), p * 100, observed * 100, tolerance * 100);
      if (Math.abs(observed - p) > tolerance + 1e-9) {
        throw new StepFailed("reviews " + e.getKey() + " should get " + Math.round(p * 100) + " % ± " + Math.round(tolerance * 100)
            + " of the requests; it got " + Math.round(observed * 100) + " % (" + counts + ")");
      }
    }
  }

  // ---- step 4

  void outboundPolicy() {
    String url = MeshInABox.externalUrl();
    URI uri = URI.create(url);
    String destination = uri.getHost() + ":" + (uri.getPort() < 0 ? 80 : uri.getPort());
    demo.say("  %s is a server outside the mesh: no Service names it", url);
    external(url, destination, true, "PassthroughCluster");

    apply("40-registry-only.yaml", this::catchAllCluster, PolicySteps::expectedCatchAll, "virtualOutbound's catch-all chain");
    external(url, destination, false, "BlackHoleCluster");
    Http.Answer known = Http.get(pods, productpage, REVIEWS_URL);
    demo.say("  GET %s (a Service of the mesh) still answers: %s", REVIEWS_URL, known.summary());
    if (!known.ok()) {
      throw new StepFailed("under REGISTRY_ONLY a Service of the mesh should still answer; got " + known.summary());
    }

    apply("30-reviews-v2.yaml", this::catchAllCluster, PolicySteps::expectedCatchAll, "virtualOutbound's catch-all chain");
    external(url, destination, true, "PassthroughCluster");
  }

  private void external(String url, String destination, boolean shouldPass, String cluster) {
    Path log = pods.proxyLog(productpage);
    int from = AccessLog.lines(log).size();
    Http.Answer a = Http.get(pods, productpage, url);
    demo.say("  GET %s from productpage: %s", url, a.summary());
    if (a.ok() != shouldPass) {
      throw new StepFailed("GET " + url + " should " + (shouldPass ? "pass (ALLOW_ANY)" : "fail (REGISTRY_ONLY)") + "; got " + a.summary());
    }
    Entry line = DemoCommand.await("an access-log line for " + destination + " in " + log,
        () -> demo.accessLog().read(log, from).stream().filter(e -> e.get("downstreamLocalAddress").equals(destination)).findFirst()
            .orElse(null), () -> "the log ends with:\n" + String.join("\n", AccessLog.lines(log).subList(from, AccessLog.lines(log).size())));
    demo.say("    sidecar: %s", line.line());
    demo.say("    -> listener %s, filter chain %s, cluster %s, flags %s", line.get("listener"), line.get("filterChain"),
        line.get("upstreamCluster"), line.get("responseFlags"));
    if (!line.get("upstreamCluster").equals(cluster)) {
      throw new StepFailed("the connection to " + destination + " should go to " + cluster + "; the access log says " + line.line());
    }
  }

  // ---- applying a policy and following it to the sidecar

  /**
   * Applies a policy file, waits for the operator to report it Ready for its current generation, then until the
   * productpage's sidecar runs what it says ({@code inSidecar} of its config_dump equals {@code fromSpec} of the
   * policy's spec), and returns that part of the sidecar's config.
   */
  private <T> T apply(String file, Function<JsonNode, T> inSidecar, Function<JsonNode, T> fromSpec, String what) {
    demo.show("apply", "--validate=false", "-f", policies.resolve(file).toString());
    demo.awaitKubectl("MeshPolicy " + POLICY + " Ready=True for its latest generation", s -> {
      String[] f = s.split(" ");
      return f.length == 3 && f[0].equals(f[1]) && f[2].equals("True");
    }, "get", "mp", POLICY, "-n", DemoCommand.NAMESPACE, "-o",
        "jsonpath={.metadata.generation} {.status.observedGeneration} {.status.conditions[?(@.type==\"Ready\")].status}");
    JsonNode spec = demo.kubectlJson("get", "mp", POLICY, "-n", DemoCommand.NAMESPACE, "-o", "json").path("spec");
    T expected = fromSpec.apply(spec);
    T running = DemoCommand.await("productpage's sidecar to run " + what + " of " + file,
        () -> {
          T now = inSidecar.apply(pods.configDump(productpage));
          return Objects.equals(normalized(now), normalized(expected)) ? now : null;
        }, () -> "it runs " + inSidecar.apply(pods.configDump(productpage)) + ", expected " + expected);
    demo.say("  %s's sidecar runs it (/config_dump): %s -> %s", productpage.name(), what, running);
    return running;
  }

  private static Object normalized(Object value) {
    if (value instanceof Map<?, ?> m) {
      @SuppressWarnings("unchecked")
      Map<String, Integer> weights = (Map<String, Integer>) m;
      return DemoCommand.shares(weights);
    }
    return value;
  }

  private static String expectedCatchAll(JsonNode spec) {
    return spec.path("outboundTrafficPolicy").asText("ALLOW_ANY").equals("REGISTRY_ONLY") ? "BlackHoleCluster" : "PassthroughCluster";
  }

  /** The weights of the policy's route for reviews, by the cluster of each destination Service. */
  private static Map<String, Integer> expectedWeights(JsonNode spec) {
    for (JsonNode http : spec.path("http")) {
      boolean forReviews = false;
      for (JsonNode h : http.path("match").path("hosts")) {
        forReviews |= h.asText().equals(ROUTE_HOST);
      }
      if (forReviews) {
        Map<String, Integer> out = new LinkedHashMap<>();
        http.path("route").forEach(r -> out.put(clusterOf(r.path("service").asText()), r.path("weight").asInt(1)));
        return out;
      }
    }
    throw new StepFailed("the MeshPolicy has no http route for host " + ROUTE_HOST + ": " + spec);
  }

  /** Istio's cluster naming, which the operator follows (docs/xds.md). */
  private static String clusterOf(String service) {
    return "outbound|" + ROUTE_PORT + "||" + service + "." + DemoCommand.NAMESPACE + ".svc.cluster.local";
  }

  /** The first route of the virtual host for reviews in route configuration 9080: cluster → weight. */
  private Map<String, Integer> routeWeights(JsonNode dump) {
    for (JsonNode config : dump.findValues("route_config")) {
      if (!config.path("name").asText().equals(ROUTE_PORT)) {
        continue;
      }
      for (JsonNode vhost : config.path("virtual_hosts")) {
        boolean reviews = false;
        for (JsonNode d : vhost.path("domains")) {
          reviews |= d.asText().equals(ROUTE_HOST);
        }
        JsonNode route = vhost.path("routes").path(0).path("route");
        if (reviews) {
          Map<String, Integer> out = new LinkedHashMap<>();
          if (route.has("cluster")) {
            out.put(route.path("cluster").asText(), 1);
          }
          route.path("weighted_clusters").path("clusters").forEach(c -> out.put(c.path("name").asText(), c.path("weight").asInt(1)));
          return out;
        }
      }
    }
    return Map.of();
  }

  /** The cluster of virtualOutbound's catch-all chain: where connections to unknown destinations go. */
  private String catchAllCluster(JsonNode dump) {
    for (JsonNode listener : dump.findValues("listener")) {
      if (!listener.path("name").asText().equals("virtualOutbound")) {
        continue;
      }
      for (JsonNode chain : listener.path("filter_chains")) {
        if (chain.path("name").asText().equals("virtualOutbound-catchall-tcp")) {
          return chain.path("filters").path(0).path("typed_config").path("cluster").asText();
        }
      }
    }
    return "";
  }
}
