package io.vmesh.operator.xds;

import static io.vmesh.operator.xds.ProxySnapshot.CLUSTER_TYPE;
import static io.vmesh.operator.xds.ProxySnapshot.ENDPOINT_TYPE;
import static io.vmesh.operator.xds.ProxySnapshot.LISTENER_TYPE;
import static io.vmesh.operator.xds.ProxySnapshot.ROUTE_TYPE;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
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
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import io.javaoperatorsdk.operator.Operator;
import io.vmesh.operator.JarProcess;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.MeshPolicySpec;
import io.vmesh.operator.api.ProxyCounts;
import io.vmesh.operator.inject.InjectionStatus;
import io.vmesh.operator.policy.MeshPolicyReconciler;
import io.vmesh.operator.status.TransitionEvents;
import io.vmesh.operator.webhook.WebhookCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ADS server on loopback against simulated proxies speaking real gRPC, each authenticated with a pod-bound token
 * the embedded API server (a process) minted and reviews. The config comes from a hand-made {@link SnapshotSource}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AdsServerIT {

  private static final Duration WAIT = Duration.ofSeconds(20);
  /** How long "nothing more is sent" is watched for. */
  private static final Duration QUIET = Duration.ofMillis(1500);
  private static final String NS = "shop";

  private JarProcess apiserver;
  private KubernetesClient kube;
  private SharedIndexInformer<Pod> pods;
  private Vertx vertx;
  private GrpcClient grpc;
  private final TestSource source = new TestSource();
  private final SyncStatus status = new SyncStatus();
  private AdsServer server;
  private final List<AdsTestClient> clients = new ArrayList<>();
  private WebhookCertificates certificates;

  /** Snapshots set by the test; {@link #changed} tells the server, like the generator after a debounced batch. */
  static final class TestSource implements SnapshotSource {
    final Map<ProxyId, ProxySnapshot> snapshots = new ConcurrentHashMap<>();
    final List<Consumer<Set<ProxyId>>> listeners = new CopyOnWriteArrayList<>();

    @Override
    public Optional<ProxySnapshot> snapshot(ProxyId proxy) {
      return Optional.ofNullable(snapshots.get(proxy));
    }

    @Override
    public void onChange(Consumer<Set<ProxyId>> listener) {
      listeners.add(listener);
    }

    void changed(ProxyId... proxies) {
      listeners.forEach(l -> l.accept(Set.of(proxies)));
    }
  }

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    apiserver = JarProcess.start("apiserver", Path.of(System.getProperty("vmesh.apiserver.jar", "../apiserver/target/vmesh-apiserver.jar")),
        dir, Map.of(), "--port", "0", "--kubeconfig-out", dir.resolve("kubeconfig").toString());
    apiserver.await(Pattern.compile("vmesh-apiserver ready: "), Duration.ofSeconds(60));
    kube = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(dir.resolve("kubeconfig")))).build();
    kube.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).create();
    for (String sa : List.of("web", "api")) {
      kube.serviceAccounts().inNamespace(NS).resource(new ServiceAccountBuilder().withNewMetadata().withName(sa).endMetadata().build()).create();
    }
    pod("web-1", "web", "10.0.0.1");
    pod("web-2", "web", "10.0.0.2");
    pod("api-1", "api", "10.0.0.3");
    pods = kube.pods().inAnyNamespace().inform();
    await("the pod informer sees the pods", () -> pods.getStore().list().size() == 3);

    vertx = Vertx.vertx();
    certificates = WebhookCertificates.issue(List.of("vmesh-operator.vmesh-system.svc", "localhost", "127.0.0.1"), Clock.systemUTC());
    server = new AdsServer(vertx, source, new TokenReviewAuthenticator(kube, TokenReviewAuthenticator.podsOf(pods)), status, Clock.systemUTC());
    server.startPlaintext("127.0.0.1", 0).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    server.startTls("127.0.0.1", 0, certificates.serving()).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    grpc = GrpcClient.client(vertx);
  }

  @AfterEach
  void closeClients() {
    clients.forEach(AdsTestClient::close);
    clients.clear();
    source.snapshots.clear();
  }

  @AfterAll
  void stop() throws Exception {
    if (vertx != null) {
      server.stop().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    if (pods != null) {
      pods.close();
    }
    if (kube != null) {
      kube.close();
    }
    if (apiserver != null) {
      apiserver.close();
    }
  }

  @Test
  void firstResponsesComeInPushOrderAndAcksMakeTheProxySynced() throws Exception {
    ProxyId web1 = new ProxyId(NS, "web-1");
    source.snapshots.put(web1, snapshot("web-1", "a"));
    AdsTestClient proxy = connect("web-1", "10.0.0.1", token("web", "web-1"));
    // subscriptions in the reverse of push order: the answers still come clusters first
    for (String type : List.of(ROUTE_TYPE, LISTENER_TYPE, ENDPOINT_TYPE, CLUSTER_TYPE)) {
      proxy.subscribe(type);
    }
    List<DiscoveryResponse> first = List.of(proxy.next(WAIT), proxy.next(WAIT), proxy.next(WAIT), proxy.next(WAIT));
    assertThat(first).extracting(DiscoveryResponse::getTypeUrl).containsExactly(CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE);
    assertThat(first.get(0).getResources(0).unpack(Cluster.class).getName()).isEqualTo("cluster-web-1-a");
    assertThat(first).extracting(DiscoveryResponse::getNonce).doesNotHaveDuplicates();
    assertThat(first).allSatisfy(r -> assertThat(r.getVersionInfo()).isNotEmpty());
    await("web-1 stale before its ACKs", () -> status.stateOf(web1) == SyncState.STALE);

    first.forEach(proxy::ack);
    await("web-1 synced", () -> status.stateOf(web1) == SyncState.SYNCED);
    ProxySync sync = status.of(web1).orElseThrow();
    assertThat(sync.nodeId()).isEqualTo(proxy.nodeId);
    assertThat(sync.type(CLUSTER_TYPE).ackedVersion()).isEqualTo(first.get(0).getVersionInfo());
    assertThat(sync.type(CLUSTER_TYPE).ackedResources()).containsOnlyKeys("cluster-web-1-a");

    // the same config announced again is not sent again
    source.changed(web1);
    assertThat(proxy.responses.poll(QUIET.toMillis(), TimeUnit.MILLISECONDS)).isNull();
  }

  @Test
  void aNackIsRecordedWithItsErrorAndTheRejectedVersionIsNotSentAgain() throws Exception {
    ProxyId web1 = new ProxyId(NS, "web-1");
    source.snapshots.put(web1, snapshot("web-1", "a"));
    AdsTestClient proxy = subscribedAndSynced("web-1", "10.0.0.1", "web");

    source.snapshots.put(web1, snapshot("web-1", "b"));
    source.changed(web1);
    List<DiscoveryResponse> pushed = List.of(proxy.next(WAIT), proxy.next(WAIT), proxy.next(WAIT), proxy.next(WAIT));
    assertThat(pushed).extracting(DiscoveryResponse::getTypeUrl).containsExactly(CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE);
    String goodListeners = status.of(web1).orElseThrow().type(LISTENER_TYPE).ackedVersion();
    proxy.ack(pushed.get(0));
    proxy.ack(pushed.get(1));
    proxy.nack(pushed.get(2), goodListeners, "listeners[0].filter_chains[0].filters[0]: envoy.filters.network.redis_proxy is not supported");
    proxy.ack(pushed.get(3));
    await("web-1 rejected", () -> status.stateOf(web1) == SyncState.REJECTED);
    TypeSync listeners = status.of(web1).orElseThrow().type(LISTENER_TYPE);
    assertThat(listeners.error()).contains("redis_proxy is not supported");
    assertThat(listeners.ackedVersion()).isEqualTo(goodListeners);
    assertThat(listeners.sentVersion()).isEqualTo(pushed.get(2).getVersionInfo());
    assertThat(listeners.ackedResources()).containsOnlyKeys("listener-web-1-a");
    assertThat(status.of(web1).orElseThrow().type(CLUSTER_TYPE).state()).isEqualTo(SyncState.SYNCED);

    source.changed(web1);
    assertThat(proxy.responses.poll(QUIET.toMillis(), TimeUnit.MILLISECONDS)).as("the NACKed version again").isNull();

    // a fixed config is a new version, and it is sent
    source.snapshots.put(web1, new ProxySnapshot(snapshot("web-1", "b").clusters(), snapshot("web-1", "b").endpoints(),
        snapshot("web-1", "c").listeners(), snapshot("web-1", "b").routes()));
    source.changed(web1);
    DiscoveryResponse fixed = proxy.next(WAIT);
    assertThat(fixed.getTypeUrl()).isEqualTo(LISTENER_TYPE);
    proxy.ack(fixed);
    await("web-1 synced again", () -> status.stateOf(web1) == SyncState.SYNCED);
    assertThat(status.of(web1).orElseThrow().type(LISTENER_TYPE).error()).isNull();
  }

  @Test
  void aResponseToAnOlderNonceIsIgnored() throws Exception {
    ProxyId web1 = new ProxyId(NS, "web-1");
    source.snapshots.put(web1, snapshot("web-1", "a"));
    AdsTestClient proxy = subscribedAndSynced("web-1", "10.0.0.1", "web");

    source.snapshots.put(web1, withRoutes(source.snapshots.get(web1), "b"));
    source.changed(web1);
    DiscoveryResponse older = proxy.next(WAIT);
    source.snapshots.put(web1, withRoutes(source.snapshots.get(web1), "c"));
    source.changed(web1);
    DiscoveryResponse newer = proxy.next(WAIT);
    assertThat(newer.getNonce()).isNotEqualTo(older.getNonce());

    proxy.ack(older);
    proxy.nack(older, "", "too late");
    assertThat(stateStays(web1, ROUTE_TYPE, SyncState.STALE)).as("ACK and NACK of the superseded nonce are ignored").isTrue();
    proxy.ack(newer);
    await("web-1 synced on the latest nonce", () -> status.stateOf(web1) == SyncState.SYNCED);
    assertThat(status.of(web1).orElseThrow().type(ROUTE_TYPE).ackedVersion()).isEqualTo(newer.getVersionInfo());
  }

  @Test
  void aChangeGoesOnlyToTheProxiesNamedAndOnlyTheTypesThatChanged() throws Exception {
    ProxyId web1 = new ProxyId(NS, "web-1");
    ProxyId web2 = new ProxyId(NS, "web-2");
    source.snapshots.put(web1, snapshot("web-1", "a"));
    source.snapshots.put(web2, snapshot("web-2", "a"));
    AdsTestClient one = subscribedAndSynced("web-1", "10.0.0.1", "web");
    AdsTestClient two = subscribedAndSynced("web-2", "10.0.0.2", "web");

    source.snapshots.put(web1, withRoutes(source.snapshots.get(web1), "b"));
    source.snapshots.put(web2, withRoutes(source.snapshots.get(web2), "b"));
    source.changed(web1);
    DiscoveryResponse routes = one.next(WAIT);
    assertThat(routes.getTypeUrl()).isEqualTo(ROUTE_TYPE);
    assertThat(routes.getResources(0).unpack(RouteConfiguration.class).getName()).isEqualTo("routes-web-1-b");
    assertThat(one.responses.poll(QUIET.toMillis(), TimeUnit.MILLISECONDS)).as("web-1: unchanged types").isNull();
    assertThat(two.responses.poll(10, TimeUnit.MILLISECONDS)).as("web-2 was not named").isNull();
  }

  @Test
  void twoProxiesEachGetTheirOwnConfigOnly() throws Exception {
    source.snapshots.put(new ProxyId(NS, "web-1"), snapshot("web-1", "a"));
    source.snapshots.put(new ProxyId(NS, "api-1"), snapshot("api-1", "a"));
    AdsTestClient web = connect("web-1", "10.0.0.1", token("web", "web-1"));
    AdsTestClient api = connect("api-1", "10.0.0.3", token("api", "api-1"));
    web.subscribe(CLUSTER_TYPE);
    api.subscribe(CLUSTER_TYPE);
    assertThat(web.next(WAIT).getResources(0).unpack(Cluster.class).getName()).isEqualTo("cluster-web-1-a");
    assertThat(api.next(WAIT).getResources(0).unpack(Cluster.class).getName()).isEqualTo("cluster-api-1-a");
  }

  @Test
  void aStreamWithoutTokenIsUnauthenticated() throws Exception {
    AdsTestClient.Ended ended = refused("10.0.0.1", null);
    assertThat(ended.status()).isEqualTo(GrpcStatus.UNAUTHENTICATED);
    assertThat(ended.message()).contains("authorization: Bearer");
  }

  @Test
  void anotherPodsTokenIsPermissionDenied() throws Exception {
    AdsTestClient.Ended ended = refused("10.0.0.1", token("web", "web-2"));
    assertThat(ended.status()).isEqualTo(GrpcStatus.PERMISSION_DENIED);
    assertThat(ended.message()).contains("bound to pod shop/web-2").contains("shop/web-1");
    assertThat(status.of(new ProxyId(NS, "web-1"))).isEmpty();
  }

  @Test
  void aNodeIdWithAnotherIpOrAForgedTokenIsRefused() throws Exception {
    AdsTestClient.Ended ended = refused("10.9.9.9", token("web", "web-1"));
    assertThat(ended.status()).isEqualTo(GrpcStatus.PERMISSION_DENIED);
    assertThat(ended.message()).contains("10.9.9.9").contains("10.0.0.1");

    AdsTestClient.Ended forged = refused("10.0.0.1", "not-a-token");
    assertThat(forged.status()).isEqualTo(GrpcStatus.UNAUTHENTICATED);
    assertThat(forged.message()).contains("rejected the token");
  }

  @Test
  void tlsListenerServesWithTheOperatorCaCertificate() throws Exception {
    source.snapshots.put(new ProxyId(NS, "web-1"), snapshot("web-1", "a"));
    GrpcClient tls = GrpcClient.client(vertx, new HttpClientOptions().setSsl(true).setUseAlpn(true)
        .setProtocolVersion(io.vertx.core.http.HttpVersion.HTTP_2)
        .setTrustOptions(new PemTrustOptions().addCertValue(io.vertx.core.buffer.Buffer.buffer(certificates.caCertPem()))));
    try {
      AdsTestClient proxy = AdsTestClient.open(tls, SocketAddress.inetSocketAddress(server.tlsPort(), "localhost"),
          ProxyId.nodeId("10.0.0.1", "web-1", NS), token("web", "web-1")).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      clients.add(proxy);
      proxy.subscribe(CLUSTER_TYPE);
      assertThat(proxy.next(WAIT).getResources(0).unpack(Cluster.class).getName()).isEqualTo("cluster-web-1-a");
    } finally {
      tls.close();
    }
  }

  /**
   * The MeshPolicy controller (JOSDK, in this JVM, against the same API server) counts the policy's proxies from
   * this server's sync state, and follows ACKs and NACKs without any other change in the cluster.
   */
  @Test
  void meshPolicyStatusCountsSyncedAndRejectedProxies() throws Exception {
    for (String crd : List.of("meshpolicies.vmesh.io.yaml", "trafficcaptures.vmesh.io.yaml")) {
      kube.load(Files.newInputStream(Path.of(System.getProperty("vmesh.repo.dir", "..")).resolve("crds").resolve(crd))).create();
    }
    String injected = new InjectionStatus("meshed", "0000000000000000", List.of("vmesh-init"), List.of("vmesh-proxy")).toJson();
    kube.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName("meshed-1").addToLabels("app", "meshed")
        .addToAnnotations(InjectionStatus.ANNOTATION, injected).endMetadata()
        .withNewSpec().withServiceAccountName("web").addNewContainer().withName("app").withImage("app").endContainer().endSpec()
        .withNewStatus().withPodIP("10.0.0.4").withPhase("Running").endStatus().build()).create();
    MeshPolicy policy = new MeshPolicy();
    policy.getMetadata().setName("meshed");
    policy.getMetadata().setNamespace(NS);
    policy.setSpec(new MeshPolicySpec());
    policy.getSpec().selector = new io.fabric8.kubernetes.api.model.LabelSelectorBuilder().addToMatchLabels("app", "meshed").build();
    kube.resource(policy).create();

    // its own client: stopping the operator closes it
    KubernetesClient operatorClient = new KubernetesClientBuilder().withConfig(kube.getConfiguration()).build();
    Operator operator = new Operator(o -> o.withKubernetesClient(operatorClient).withUseSSAToPatchPrimaryResource(false));
    operator.register(new MeshPolicyReconciler(Clock.systemUTC(), new TransitionEvents(operatorClient, Clock.systemUTC()), "vmesh-system",
        status));
    operator.start();
    try {
      await("status.proxies 0/1 before any proxy connects", () -> "0/1".equals(summary()));
      ProxyId meshed = new ProxyId(NS, "meshed-1");
      source.snapshots.put(meshed, snapshot("meshed-1", "a"));
      AdsTestClient proxy = subscribedAndSynced("meshed-1", "10.0.0.4", "web");
      await("synced 1/1", () -> "1/1".equals(summary()));

      source.snapshots.put(meshed, withRoutes(source.snapshots.get(meshed), "b"));
      source.changed(meshed);
      DiscoveryResponse routes = proxy.next(WAIT);
      await("stale while the push is not answered", () -> counts().stale == 1);
      proxy.nack(routes, status.of(meshed).orElseThrow().type(ROUTE_TYPE).ackedVersion(), "routes[0]: unsupported");
      await("rejected", () -> counts().rejected == 1 && "0/1".equals(summary()));
    } finally {
      operator.stop();
    }
  }

  private ProxyCounts counts() {
    MeshPolicy p = kube.resources(MeshPolicy.class).inNamespace(NS).withName("meshed").get();
    return p == null || p.getStatus() == null || p.getStatus().proxies == null ? new ProxyCounts() : p.getStatus().proxies;
  }

  private String summary() {
    return counts().summary;
  }

  // --- helpers

  /** How the server ends the stream of web-1 (at {@code ip}, with {@code token}) that it must refuse, having sent nothing. */
  private AdsTestClient.Ended refused(String ip, String token) throws Exception {
    source.snapshots.put(new ProxyId(NS, "web-1"), snapshot("web-1", "a"));
    AdsTestClient proxy = connect("web-1", ip, token);
    proxy.subscribe(CLUSTER_TYPE);
    AdsTestClient.Ended ended = proxy.ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(proxy.responses).isEmpty();
    return ended;
  }

  private AdsTestClient subscribedAndSynced(String pod, String ip, String serviceAccount) throws Exception {
    AdsTestClient proxy = connect(pod, ip, token(serviceAccount, pod));
    for (String type : ProxySnapshot.PUSH_ORDER) {
      proxy.subscribe(type);
    }
    for (int i = 0; i < 4; i++) {
      proxy.ack(proxy.next(WAIT));
    }
    ProxyId id = new ProxyId(NS, pod);
    await(pod + " synced", () -> status.stateOf(id) == SyncState.SYNCED);
    return proxy;
  }

  private AdsTestClient connect(String pod, String ip, String token) throws Exception {
    AdsTestClient c = AdsTestClient.open(grpc, SocketAddress.inetSocketAddress(server.plaintextPort(), "127.0.0.1"),
        ProxyId.nodeId(ip, pod, NS), token).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    clients.add(c);
    return c;
  }

  private String token(String serviceAccount, String pod) {
    return kube.serviceAccounts().inNamespace(NS).withName(serviceAccount).tokenRequest(new TokenRequestBuilder().withNewSpec()
            .withAudiences(TokenReviewAuthenticator.AUDIENCE).withExpirationSeconds(3600L)
            .withNewBoundObjectRef().withApiVersion("v1").withKind("Pod").withName(pod).endBoundObjectRef()
            .endSpec().build())
        .getStatus().getToken();
  }

  private void pod(String name, String serviceAccount, String ip) {
    kube.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName(name).endMetadata()
        .withNewSpec().withServiceAccountName(serviceAccount).addNewContainer().withName("app").withImage("app").endContainer().endSpec()
        .withNewStatus().withPodIP(ip).withPhase("Running").endStatus().build()).create();
  }

  static ProxySnapshot snapshot(String pod, String revision) {
    String suffix = pod + "-" + revision;
    return new ProxySnapshot(
        List.of(Cluster.newBuilder().setName("cluster-" + suffix).build()),
        List.of(ClusterLoadAssignment.newBuilder().setClusterName("cluster-" + suffix).build()),
        List.of(Listener.newBuilder().setName("listener-" + suffix).build()),
        List.of(RouteConfiguration.newBuilder().setName("routes-" + suffix).build()));
  }

  private static ProxySnapshot withRoutes(ProxySnapshot s, String revision) {
    String name = s.routes().get(0).getName();
    return new ProxySnapshot(s.clusters(), s.endpoints(), s.listeners(),
        List.of(RouteConfiguration.newBuilder().setName(name.substring(0, name.lastIndexOf('-') + 1) + revision).build()));
  }

  /** True when the type keeps {@code state} for {@link #QUIET}. */
  private boolean stateStays(ProxyId proxy, String type, SyncState state) throws InterruptedException {
    Instant end = Instant.now().plus(QUIET);
    while (Instant.now().isBefore(end)) {
      if (status.of(proxy).orElseThrow().type(type).state() != state) {
        return false;
      }
      Thread.sleep(50);
    }
    return true;
  }

  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    Instant end = Instant.now().plus(WAIT);
    while (!condition.getAsBoolean()) {
      if (Instant.now().isAfter(end)) {
        throw new AssertionError("not within " + WAIT + ": " + what);
      }
      Thread.sleep(20);
    }
  }
}
