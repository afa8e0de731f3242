import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vertx.core.Vertx;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vmesh.operator.xds.AdsServer;
import io.vmesh.operator.xds.ProxyAuthenticator;
import io.vmesh.operator.xds.ProxyId;
import io.vmesh.operator.xds.ProxySnapshot;
import io.vmesh.operator.xds.ProxySync;
import io.vmesh.operator.xds.SnapshotSource;
import io.vmesh.operator.xds.SyncState;
import io.vmesh.operator.xds.SyncStatus;
import io.vmesh.operator.xds.TokenReviewAuthenticator;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The ADS server under N simulated proxies: real gRPC streams (one HTTP/2 connection each) from a second JVM, every
 * proxy authenticated with its own pod-bound token through a real TokenReview against the embedded API server (a
 * third process). Measures, at the server: a config change to the last ACK, a reconnect storm to all synced, and the
 * server's heap per connected proxy (the clients live in the other JVM, so they are not counted).
 *
 * Run from the repository root after ./mvnw -B -o package -DskipTests:
 *   CP=operator/target/vmesh-operator.jar:$HOME/.m2/repository/io/vertx/vertx-grpc-client/5.0.7/vertx-grpc-client-5.0.7.jar
 *   java -cp $CP bench/AdsBench.java 1000 5        # proxies, rounds
 */
public class AdsBench {

  static final String NS = "bench";
  static final ServiceMethod<DiscoveryResponse, DiscoveryRequest> ADS = ServiceMethod.client(AdsServer.SERVICE, AdsServer.METHOD,
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(DiscoveryResponse.newBuilder()));

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("clients")) {
      clients(Integer.parseInt(args[1]), Path.of(args[2]));
      return;
    }
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    server(n, rounds);
  }

  // ---------------------------------------------------------------- the operator side (this JVM)

  /**
   * The same mesh for every proxy (50 services) laid out as the generator does: the outbound clusters, endpoints and
   * route table are the same instances for everyone, each proxy has its own snapshot object with its own inbound
   * listener and an inbound cluster built anew per proxy (equal content, another instance). A "MeshPolicy change" bumps
   * the route revision; an "endpoint change" moves one endpoint of one service. Every change rebuilds every proxy's
   * snapshot object, as a debounced rebuild does.
   */
  static final class BenchSource implements SnapshotSource {
    volatile java.util.Map<ProxyId, ProxySnapshot> current = java.util.Map.of();
    final List<Consumer<Set<ProxyId>>> listeners = new CopyOnWriteArrayList<>();

    public Optional<ProxySnapshot> snapshot(ProxyId proxy) {
      return Optional.ofNullable(current.get(proxy));
    }

    public void onChange(Consumer<Set<ProxyId>> listener) {
      listeners.add(listener);
    }

    void build(List<ProxyId> proxies, int routeRevision, int endpointRevision) {
      Mesh mesh = mesh(routeRevision, endpointRevision);
      java.util.Map<ProxyId, ProxySnapshot> next = new java.util.HashMap<>();
      for (ProxyId id : proxies) {
        List<Cluster> clusters = new ArrayList<>(mesh.clusters);
        clusters.add(Cluster.newBuilder().setName("inbound|8080||").setType(Cluster.DiscoveryType.ORIGINAL_DST).build());
        next.put(id, new ProxySnapshot(clusters, new ArrayList<>(mesh.endpoints),
            List.of(Listener.newBuilder().setName("0.0.0.0_80").build(), Listener.newBuilder().setName("virtualInbound")
                .setStatPrefix("inbound_" + id.podName()).build()),
            mesh.routes));
      }
      current = next;
    }
  }

  record Mesh(List<Cluster> clusters, List<ClusterLoadAssignment> endpoints, List<RouteConfiguration> routes) {
  }

  static Mesh mesh(int revision, int endpointRevision) {
    List<Cluster> clusters = new ArrayList<>();
    List<ClusterLoadAssignment> endpoints = new ArrayList<>();
    VirtualHost.Builder hosts = VirtualHost.newBuilder().setName("all").addDomains("*");
    for (int s = 0; s < 50; s++) {
      String name = "outbound|80||svc-" + s + "." + NS + ".svc.cluster.local";
      clusters.add(Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS).build());
      LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
      for (int e = 0; e < 10; e++) {
        // the endpoint change: service 0's first endpoint moves
        String ip = s == 0 && e == 0 ? "10.3." + (endpointRevision / 250) + "." + (endpointRevision % 250) : "10.1." + s + "." + e;
        locality.addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(Endpoint.newBuilder().setAddress(Address.newBuilder()
            .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(8080)))));
      }
      endpoints.add(ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(locality).build());
      hosts.addRoutes(Route.newBuilder().setName("r" + s + "-rev" + revision)
          .setMatch(RouteMatch.newBuilder().setPrefix("/svc-" + s)).setRoute(RouteAction.newBuilder().setCluster(name)));
    }
    return new Mesh(clusters, endpoints, List.of(RouteConfiguration.newBuilder().setName("80").addVirtualHosts(hosts).build()));
  }

  static void server(int n, int rounds) throws Exception {
    Path dir = Files.createTempDirectory("adsbench");
    Process apiserver = new ProcessBuilder(java(), "-jar", "apiserver/target/vmesh-apiserver.jar", "--port", "0",
        "--kubeconfig-out", dir.resolve("kubeconfig").toString()).redirectError(dir.resolve("apiserver.log").toFile()).start();
    Process clients = null;
    Vertx vertx = null;
    try {
      new BufferedReader(new InputStreamReader(apiserver.getInputStream())).readLine();
      KubernetesClient kube = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(dir.resolve("kubeconfig")))).build();
      kube.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
      kube.serviceAccounts().inNamespace(NS).resource(new ServiceAccountBuilder().withNewMetadata().withName("app").endMetadata().build()).create();
      List<String> lines = new ArrayList<>();
      List<ProxyId> ids = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String pod = "app-" + i;
        String ip = "10.2." + (i / 250) + "." + (i % 250 + 1);
        kube.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName(pod).endMetadata()
            .withNewSpec().withServiceAccountName("app").addNewContainer().withName("app").withImage("app").endContainer().endSpec()
            .withNewStatus().withPodIP(ip).endStatus().build()).create();
        String token = kube.serviceAccounts().inNamespace(NS).withName("app").tokenRequest(new TokenRequestBuilder().withNewSpec()
            .withAudiences("vmesh").withExpirationSeconds(43200L).withNewBoundObjectRef().withKind("Pod").withApiVersion("v1").withName(pod)
            .endBoundObjectRef().endSpec().build()).getStatus().getToken();
        lines.add(ProxyId.nodeId(ip, pod, NS) + " " + token);
        ids.add(new ProxyId(NS, pod));
      }
      SharedIndexInformer<Pod> pods = kube.pods().inAnyNamespace().inform();
      BenchSource source = new BenchSource();
      source.build(ids, 0, 0);
      SyncStatus status = new SyncStatus();
      vertx = Vertx.vertx();
      // the real authenticator, timed: how much of a storm is the API server stand-in answering TokenReviews
      List<Long> reviews = new CopyOnWriteArrayList<>();
      AdsServer server = new AdsServer(vertx, source, timed(kube, pods, reviews), status, Clock.systemUTC());
      server.startPlaintext("127.0.0.1", 0).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      int port = server.plaintextPort();
      Path tokens = Files.write(dir.resolve("proxies.txt"), lines);
      long baseline = heapAfterGc();

      clients = new ProcessBuilder(java(), "-Xmx2g", "-cp", System.getProperty("java.class.path"), "bench/AdsBench.java", "clients",
          String.valueOf(server.plaintextPort()), tokens.toString()).redirectError(dir.resolve("clients.log").toFile()).start();
      PrintWriter toClients = new PrintWriter(clients.getOutputStream(), true);
      BufferedReader fromClients = new BufferedReader(new InputStreamReader(clients.getInputStream()));
      String ready = fromClients.readLine();
      if (ready == null || !ready.equals("ready")) {
        throw new IllegalStateException("the client JVM did not start: see " + dir.resolve("clients.log"));
      }
      System.out.printf("N=%d proxies, %d rounds; snapshot: 51 clusters, 50 assignments x 10 endpoints, 2 listeners, 1 route config%n", n, rounds);

      Instant start = Instant.now();
      toClients.println("connect");
      long connected = awaitAll(status, ids, p -> p.overall() == SyncState.SYNCED);
      System.out.printf("initial connect of %d (TokenReview each) to all synced: %d ms; %s%n", n, connected - start.toEpochMilli(),
          reviewSummary(reviews));

      long heap = heapAfterGc();
      System.out.printf("server heap: %.1f MB more with %d proxies connected = %.1f KB per proxy%n",
          (heap - baseline) / 1e6, n, (heap - baseline) / 1e3 / n);

      Set<ProxyId> all = new HashSet<>(ids);
      for (String type : List.of(ProxySnapshot.ROUTE_TYPE, ProxySnapshot.ENDPOINT_TYPE)) {
        List<Long> pushes = new ArrayList<>();
        for (int r = 1; r <= rounds; r++) {
          Set<String> before = new HashSet<>();
          status.all().forEach(p -> before.add(p.type(type).ackedVersion()));
          long t0 = System.currentTimeMillis();
          // the rebuild is part of the push: every proxy's snapshot object is new, as after a debounced batch
          source.build(ids, type.equals(ProxySnapshot.ROUTE_TYPE) ? r : rounds, type.equals(ProxySnapshot.ENDPOINT_TYPE) ? r : 0);
          source.listeners.forEach(l -> l.accept(all));
          SyncStatus watched = status;
          long done = awaitAll(watched, ids, p -> p.overall() == SyncState.SYNCED && !before.contains(p.type(type).ackedVersion()));
          pushes.add(done - t0);
        }
        System.out.printf("%s change to last ACK, N=%d: %s ms, median %d ms%n", type.endsWith("RouteConfiguration") ? "route (MeshPolicy)"
            : "endpoint", n, pushes, median(pushes));
      }

      List<Long> storms = new ArrayList<>();
      for (int r = 1; r <= rounds; r++) {
        reviews.clear();
        long t0 = System.currentTimeMillis();
        toClients.println("reconnect");
        SyncStatus watched = status;
        long done = awaitAll(watched, ids, p -> p.overall() == SyncState.SYNCED && p.connectedAt().toEpochMilli() >= t0);
        storms.add(done - t0);
        System.out.printf("  storm %d: %d ms; %s%n", r, done - t0, reviewSummary(reviews));
      }
      System.out.printf("reconnect storm of %d to all synced (same server): %s ms, median %d ms%n", n, storms, median(storms));

      // an operator restart: a new server on the same port, nothing remembered (no reviews, no encoded resources)
      List<Long> restarts = new ArrayList<>();
      for (int r = 1; r <= rounds; r++) {
        reviews.clear();
        long t0 = System.currentTimeMillis();
        server.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        status = new SyncStatus();
        server = new AdsServer(vertx, source, timed(kube, pods, reviews), status, Clock.systemUTC());
        server.startPlaintext("127.0.0.1", port).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        toClients.println("reconnect");
        long done = awaitAll(status, ids, p -> p.overall() == SyncState.SYNCED);
        restarts.add(done - t0);
        System.out.printf("  restart %d: %d ms; %s%n", r, done - t0, reviewSummary(reviews));
      }
      System.out.printf("operator restart with %d proxies to all synced: %s ms, median %d ms%n", n, restarts, median(restarts));
      System.out.printf("load average (1 min) at the end: %.1f%n", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
      toClients.println("quit");
      pods.close();
      kube.close();
    } finally {
      if (clients != null) {
        clients.destroy();
        clients.waitFor(10, TimeUnit.SECONDS);
      }
      if (vertx != null) {
        vertx.close();
      }
      apiserver.destroy();
      apiserver.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The real authenticator (TokenReview cache and all), timed per stream into {@code reviews}. */
  static ProxyAuthenticator timed(KubernetesClient kube, SharedIndexInformer<Pod> pods, List<Long> reviews) {
    TokenReviewAuthenticator real = new TokenReviewAuthenticator(kube, TokenReviewAuthenticator.podsOf(pods));
    return (token, node) -> {
      long t0 = System.nanoTime();
      try {
        return real.authenticate(token, node);
      } finally {
        reviews.add((System.nanoTime() - t0) / 1_000_000);
      }
    };
  }

  /**
   * Polls (every 5 ms, map lookups only, so the measuring steals little CPU from the server it measures) until every
   * proxy satisfies the condition; the time it first held.
   */
  static long awaitAll(SyncStatus status, List<ProxyId> proxies, Predicate<ProxySync> done) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 300_000;
    int from = 0;
    while (System.currentTimeMillis() < deadline) {
      // proxies already seen done stay done until the next measurement: resume from the first that was not
      while (from < proxies.size() && status.of(proxies.get(from)).filter(done).isPresent()) {
        from++;
      }
      if (from == proxies.size()) {
        return System.currentTimeMillis();
      }
      Thread.sleep(5);
    }
    throw new IllegalStateException("not all " + proxies.size() + " proxies got there within 5 minutes: " + status.all().size() + " connected");
  }

  static long heapAfterGc() throws InterruptedException {
    for (int i = 0; i < 4; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  static String reviewSummary(List<Long> millis) {
    long[] sorted = millis.stream().mapToLong(Long::longValue).sorted().toArray();
    return String.format("authentication (TokenReview + pod check) %d calls, median %d ms, p99 %d ms, sum %d ms", sorted.length,
        sorted[sorted.length / 2], sorted[(int) (sorted.length * 0.99)], java.util.Arrays.stream(sorted).sum());
  }

  static long median(List<Long> values) {
    long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
    return sorted[sorted.length / 2];
  }

  static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  // ---------------------------------------------------------------- the proxies (the other JVM)

  /** Opens one connection and stream per proxy on "connect", closes and reopens them all on "reconnect"; ACKs everything. */
  static void clients(int port, Path proxies) throws Exception {
    List<String[]> nodes = Files.readAllLines(proxies).stream().map(l -> l.split(" ")).toList();
    Vertx vertx = Vertx.vertx();
    List<GrpcClient> grpc = new ArrayList<>();
    List<GrpcClientRequest<DiscoveryRequest, DiscoveryResponse>> streams = new CopyOnWriteArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      grpc.add(GrpcClient.client(vertx));
    }
    System.out.println("ready");
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    for (String command = in.readLine(); command != null && !command.equals("quit"); command = in.readLine()) {
      if (command.equals("reconnect")) {
        // new connections, as proxies coming back after an operator restart would open
        streams.clear();
        for (int i = 0; i < grpc.size(); i++) {
          grpc.get(i).close();
          grpc.set(i, GrpcClient.client(vertx));
        }
      }
      for (int i = 0; i < nodes.size(); i++) {
        String[] node = nodes.get(i);
        grpc.get(i).request(io.vertx.core.net.SocketAddress.inetSocketAddress(port, "127.0.0.1"), ADS).onSuccess(request -> {
          streams.add(request);
          request.headers().set("authorization", "Bearer " + node[1]);
          request.response().onSuccess(response -> response.handler(r -> request.write(DiscoveryRequest.newBuilder()
              .setTypeUrl(r.getTypeUrl()).setVersionInfo(r.getVersionInfo()).setResponseNonce(r.getNonce()).build())));
          boolean first = true;
          for (String type : ProxySnapshot.PUSH_ORDER) {
            DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setTypeUrl(type);
            if (first) {
              b.setNode(Node.newBuilder().setId(node[0]).setUserAgentName("adsbench"));
              first = false;
            }
            request.write(b.build());
          }
        }).onFailure(e -> System.err.println(node[0] + ": " + e));
      }
    }
    vertx.close();
    System.exit(0);
  }
}
