package io.vmesh.sandbox.demo;

import io.vmesh.sandbox.demo.AccessLog.Entry;
import io.vmesh.sandbox.demo.DemoCommand.StepFailed;
import io.vmesh.sandbox.demo.Pods.PodInfo;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Step 2: one request to productpage, which calls reviews, and the path its call took, put together from what the two
 * sidecars logged — the client's outbound line and the server's inbound line are the same connection when the
 * first's upstream local address is the second's downstream remote address (inbound capture keeps the source).
 */
final class RequestPath {

  // the ports of bookinfo-lite's HTTP services (samples/bookinfo-lite/20-services.yaml)
  private static final int HTTP_PORT = 9080;

  private final DemoCommand demo;
  private final Pods pods;

  RequestPath(DemoCommand demo) {
    this.demo = demo;
    this.pods = demo.pods();
  }

  void show() {
    PodInfo productpage = pods.byApp("productpage");
    Path frontLog = pods.proxyLog(productpage);
    int from = AccessLog.lines(frontLog).size();
    String url = "http://" + productpage.ip() + ":" + HTTP_PORT + "/productpage";
    demo.say("  GET %s from the node (outside the mesh); productpage then calls reviews (HTTP) and details (TCP)", url);
    Http.Answer page = Http.getFromNode(demo, url);
    demo.say("    %s", page.summary());
    if (!page.ok()) {
      throw new StepFailed("GET " + url + " should answer 200 with both reviews and details; got " + page.summary());
    }

    Entry in = awaitEntry(frontLog, from, e -> e.get("downstreamLocalAddress").equals(productpage.ip() + ":" + HTTP_PORT)
        && e.get("path").startsWith("/productpage"), "productpage's inbound GET /productpage");
    Entry out = awaitEntry(frontLog, from, e -> e.get("upstreamCluster").startsWith("outbound|" + HTTP_PORT + "||reviews."),
        "productpage's outbound request to reviews");
    PodInfo reviews = pods.byIp(hostOf(out.get("upstreamHost")));
    Entry peer = awaitEntry(pods.proxyLog(reviews), 0, e -> e.get("downstreamRemoteAddress").equals(out.get("upstreamLocalAddress")),
        "an inbound line in " + reviews.name() + "'s sidecar for the connection from " + out.get("upstreamLocalAddress"));

    demo.say("  access log of %s's sidecar (Envoy's format):", productpage.name());
    demo.say("    %s", in.line());
    demo.say("    %s", out.line());
    demo.say("  access log of %s's sidecar:", reviews.name());
    demo.say("    %s", peer.line());

    String outboundRule = redirectRule(productpage, "15001");
    String inboundRule = redirectRule(reviews, "15006");
    String vip = out.get("downstreamLocalAddress");
    demo.say("  the request to productpage, from those fields:");
    demo.say("    node %s -> iptables in %s: %s", in.get("downstreamRemoteAddress"), productpage.name(), redirectRule(productpage, "15006"));
    demo.say("    -> sidecar virtualInbound :15006, original destination %s -> filter chain %s -> cluster %s -> app %s, %s",
        in.get("downstreamLocalAddress"), in.get("filterChain"), in.get("upstreamCluster"), in.get("upstreamHost"), in.get("responseCode"));
    demo.say("  its call to reviews, hop by hop:");
    demo.say("    productpage app (uid %d) connects to reviews:%d, the Service's ClusterIP %s by the pod's /etc/hosts",
        productpage.appUid(), HTTP_PORT, vip);
    demo.say("    -> iptables in %s: %s", productpage.name(), outboundRule);
    demo.say("    -> sidecar virtualOutbound :15001, original destination %s -> listener %s", vip, out.get("listener"));
    demo.say("    -> %s %s, Host %s: route %s-> cluster %s", out.get("method"), out.get("path"), out.get("authority"),
        out.get("routeName").equals("-") ? "" : out.get("routeName") + " ", out.get("upstreamCluster"));
    demo.say("    -> endpoint %s (%s), connecting from %s", out.get("upstreamHost"), reviews.name(), out.get("upstreamLocalAddress"));
    demo.say("    -> iptables in %s: %s", reviews.name(), inboundRule);
    demo.say("    -> sidecar virtualInbound :15006, original destination %s from %s -> filter chain %s -> cluster %s",
        peer.get("downstreamLocalAddress"), peer.get("downstreamRemoteAddress"), peer.get("filterChain"), peer.get("upstreamCluster"));
    demo.say("    -> reviews app at %s (the sidecar connects from %s) answers %s; productpage's sidecar saw %s after %s ms",
        peer.get("upstreamHost"), peer.get("upstreamLocalAddress"), peer.get("responseCode"), out.get("responseCode"),
        out.get("durationMillis"));

    String expectedListener = "0.0.0.0_" + HTTP_PORT;
    if (!out.get("listener").equals(expectedListener) || !peer.get("listener").equals("virtualInbound")
        || !peer.get("upstreamCluster").startsWith("inbound|" + HTTP_PORT + "|") || !out.get("responseCode").equals("200")
        || !peer.get("upstreamHost").equals(reviews.ip() + ":" + HTTP_PORT)) {
      throw new StepFailed("expected productpage -> listener " + expectedListener + " -> outbound|" + HTTP_PORT
          + "||reviews... -> the peer's virtualInbound -> inbound|" + HTTP_PORT + "|| -> " + reviews.ip() + ":" + HTTP_PORT
          + " with 200; the logs say:\n" + out.line() + "\n" + peer.line());
    }
    Optional<Entry> details = demo.accessLog().read(frontLog, from).stream()
        .filter(e -> e.get("upstreamCluster").contains("||details.")).findFirst();
    details.ifPresent(d -> demo.say("  and details (TCP, the server speaks first): listener %s -> cluster %s -> endpoint %s, %s bytes back",
        d.get("listener"), d.get("upstreamCluster"), d.get("upstreamHost"), d.get("bytesSent")));
  }

  /** The capture rule that sends the pod's connections to {@code port}, as iptables-save prints it. */
  private String redirectRule(PodInfo pod, String port) {
    String rules = pods.asRoot(pod, "iptables-save", "-t", "nat").orThrow().stdout();
    return rules.lines().filter(l -> l.endsWith("--to-ports " + port)).findFirst()
        .orElseThrow(() -> new StepFailed("no REDIRECT rule to port " + port + " in pod " + pod.name() + ":\n" + rules));
  }

  private Entry awaitEntry(Path log, int from, Predicate<Entry> match, String what) {
    return DemoCommand.await(what + " in " + log, () -> demo.accessLog().read(log, from).stream().filter(match).findFirst().orElse(null),
        () -> "the log has:\n" + String.join("\n", tail(AccessLog.lines(log))));
  }

  static String hostOf(String address) {
    int colon = address.lastIndexOf(':');
    return colon < 0 ? address : address.substring(0, colon);
  }

  private static List<String> tail(List<String> lines) {
    return lines.subList(Math.max(0, lines.size() - 20), lines.size());
  }
}
