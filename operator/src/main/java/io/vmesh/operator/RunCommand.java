package io.vmesh.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.vmesh.operator.capture.TrafficCaptureReconciler;
import io.vmesh.operator.policy.MeshPolicyReconciler;
import io.vmesh.operator.status.TransitionEvents;
import io.vertx.core.Vertx;
import io.vmesh.operator.inject.AdmissionHandler;
import io.vmesh.operator.inject.InjectionSettings;
import io.vmesh.operator.webhook.CaRootConfigMaps;
import io.vmesh.operator.webhook.CachedInjectionContext;
import io.vmesh.operator.webhook.InjectionEvents;
import io.vmesh.operator.webhook.ServingCertificate;
import io.vmesh.operator.webhook.WebhookCertificates;
import io.vmesh.operator.webhook.WebhookConfiguration;
import io.vmesh.operator.webhook.WebhookServer;
import io.vmesh.operator.webhook.WebhookTls;
import io.vmesh.operator.xds.AdsServer;
import io.vmesh.operator.xds.ClusterStateSnapshotSource;
import io.vmesh.operator.xds.SyncReport;
import io.vmesh.operator.xds.SyncStatus;
import io.vmesh.operator.xds.TokenReviewAuthenticator;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vmesh-operator run}: the controllers, leader election, the injection webhook, the xDS server and the health endpoints. */
@Command(name = "run",
    mixinStandardHelpOptions = true,
    description = {"Run the operator against the cluster of KUBECONFIG (or the in-cluster service account).",
        "Runs until SIGTERM or SIGINT."})
public final class RunCommand implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

  @Option(names = "--namespace", paramLabel = "NS", defaultValue = "${env:POD_NAMESPACE:-vmesh-system}",
      description = "The operator's namespace: MeshPolicies without selector here are the mesh-wide default, "
          + "and the leader-election Lease lives here unless --lease-namespace says otherwise (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = "--leader-election", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Elect a leader through a Lease so that several replicas can run; only the leader reconciles "
          + "(default: ${DEFAULT-VALUE}).")
  boolean leaderElection;

  @Option(names = "--lease-name", paramLabel = "NAME", defaultValue = "vmesh-operator",
      description = "Name of the leader-election Lease (default: ${DEFAULT-VALUE}).")
  String leaseName;

  @Option(names = "--lease-namespace", paramLabel = "NS",
      description = "Namespace of the leader-election Lease (default: --namespace).")
  String leaseNamespace;

  @Option(names = "--identity", paramLabel = "ID", defaultValue = "${env:POD_NAME}",
      description = "This replica's identity in the Lease (default: POD_NAME, else the host name and pid).")
  String identity;

  @Option(names = "--health-address", paramLabel = "IP", defaultValue = "0.0.0.0",
      description = "Address of /healthz and /readyz (default: ${DEFAULT-VALUE}).")
  String healthAddress;

  @Option(names = "--health-port", paramLabel = "PORT", defaultValue = "8081",
      description = "Port of /healthz and /readyz; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int healthPort;

  @Option(names = "--webhook", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Serve the sidecar injection webhook (default: ${DEFAULT-VALUE}).")
  boolean webhook;

  @Option(names = "--webhook-address", paramLabel = "IP", defaultValue = "0.0.0.0",
      description = "Address of the HTTPS injection webhook (default: ${DEFAULT-VALUE}).")
  String webhookAddress;

  @Option(names = "--webhook-port", paramLabel = "PORT", defaultValue = "9443",
      description = "Port of the HTTPS injection webhook, path /inject; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int webhookPort;

  @Option(names = "--webhook-cert-dir", paramLabel = "DIR",
      description = "A mounted certificate (tls.crt, tls.key from OLM or cert-manager), used as is: the operator then manages "
          + "neither the certificate Secret nor the webhook configuration.")
  Path webhookCertDir;

  @Option(names = "--webhook-service", paramLabel = "NAME", defaultValue = "vmesh-webhook",
      description = "The Service in front of the webhook, in --namespace (default: ${DEFAULT-VALUE}).")
  String webhookService;

  @Option(names = "--webhook-service-port", paramLabel = "PORT", defaultValue = "443",
      description = "That Service's port, which the webhook configuration names (default: ${DEFAULT-VALUE}).")
  int webhookServicePort;

  @Option(names = "--xds-service", paramLabel = "NAME", defaultValue = "vmesh-xds",
      description = "The Service in front of xDS, in --namespace; the TLS certificate covers its names (default: ${DEFAULT-VALUE}).")
  String xdsService;

  @Option(names = "--webhook-secret", paramLabel = "NAME", defaultValue = "vmesh-webhook-tls",
      description = "Secret in --namespace keeping the webhook's CA and certificate (default: ${DEFAULT-VALUE}).")
  String webhookSecret;

  @Option(names = "--webhook-configuration", paramLabel = "NAME", defaultValue = "vmesh-injector",
      description = "Name of the MutatingWebhookConfiguration the operator keeps (default: ${DEFAULT-VALUE}).")
  String webhookConfiguration;

  @Option(names = "--webhook-failure-policy", paramLabel = "Fail|Ignore", defaultValue = "Fail",
      description = "What the API server does when the webhook cannot answer (default: ${DEFAULT-VALUE}).")
  String failurePolicy;

  @Option(names = "--proxy-image", paramLabel = "IMAGE", defaultValue = InjectionSettings.DEFAULT_IMAGE,
      description = "Image of vmesh-init and vmesh-proxy when a TrafficCapture names none (default: ${DEFAULT-VALUE}).")
  String proxyImage;

  @Option(names = "--xds-address", paramLabel = "HOST:PORT", defaultValue = InjectionSettings.DEFAULT_XDS_ADDRESS,
      description = "The xDS address handed to injected proxies (default: ${DEFAULT-VALUE}).")
  String xdsAddress;

  @Option(names = "--xds-ca-configmap", paramLabel = "NAME", defaultValue = InjectionSettings.DEFAULT_XDS_CA_CONFIGMAP,
      description = "ConfigMap the operator keeps in every injection-enabled namespace with the CA of xDS over TLS (key "
          + CaRootConfigMaps.KEY + "); injected proxies mount it and verify :15012 against it. Empty: neither the ConfigMaps "
          + "nor the mount, for a plaintext --xds-address (default: ${DEFAULT-VALUE}).")
  String xdsCaConfigMap;

  @Option(names = "--xds", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Serve xDS (ADS) to the proxies (default: ${DEFAULT-VALUE}).")
  boolean xds;

  @Option(names = "--xds-listen-address", paramLabel = "IP", defaultValue = "0.0.0.0",
      description = "Address the xDS listeners bind (default: ${DEFAULT-VALUE}).")
  String xdsListenAddress;

  @Option(names = "--xds-port", paramLabel = "PORT", defaultValue = "15010",
      description = "Plaintext xDS port, for in-cluster proxies; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int xdsPort;

  @Option(names = "--xds-tls-port", paramLabel = "PORT", defaultValue = "15012",
      description = "xDS over TLS with the operator CA's certificate (the webhook's); 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int xdsTlsPort;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Clock clock = Clock.systemUTC();
    String me = identity();
    KubernetesClient client = new KubernetesClientBuilder().build();
    LOG.info("API server {}, operator namespace {}", client.getMasterUrl(), namespace);
    String lease = leaseNamespace == null ? namespace : leaseNamespace;
    if (leaderElection) {
      LOG.info("leader election on Lease {}/{} as {}", lease, leaseName, me);
    } else {
      LOG.info("leader election off: run a single replica");
    }
    AtomicBoolean shuttingDown = new AtomicBoolean();
    Operator operator = new Operator(o -> {
      o.withKubernetesClient(client)
          // JSON merge patch for status, in production too: the embedded API server has no server-side apply
          .withUseSSAToPatchPrimaryResource(false)
          .withStopOnInformerErrorDuringStartup(true);
      if (leaderElection) {
        o.withLeaderElectionConfiguration(LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration(leaseName)
            .withLeaseNamespace(lease)
            .withIdentity(me)
            // JOSDK's own exit on losing the lease calls System.exit, which deadlocks when the lease is released by
            // our shutdown hook (SIGTERM): the process then hangs until SIGKILL. Exit only when the lease is lost.
            .withExitOnStopLeading(false)
            .withLeaderCallbacks(new LeaderCallbacks(() -> { }, () -> {
              if (!shuttingDown.get()) {
                LOG.error("lost the leader-election Lease {}/{}: exiting so a restart competes again", lease, leaseName);
                new Thread(() -> System.exit(1), "vmesh-lost-lease").start();
              }
            }, leader -> { }))
            .build());
      }
    });
    TransitionEvents events = new TransitionEvents(client, clock);
    SyncStatus sync = new SyncStatus();
    operator.register(new TrafficCaptureReconciler(clock, events));
    operator.register(new MeshPolicyReconciler(clock, events, namespace, sync));

    Tls tls = webhook || xds ? tls(client, clock) : null;
    Webhook injection = webhook ? startWebhook(client, events, tls.first().serving()) : null;
    Xds ads = xds ? startXds(client, clock, sync, tls.first().serving()) : null;
    CaRootConfigMaps caRoots = tls == null ? null : caRoots(client, tls.first());
    ScheduledExecutorService renewals = tls == null ? null : renewals(tls, injection, ads, caRoots);

    HealthServer health = new HealthServer(healthAddress, healthPort,
        () -> true,
        () -> operator.getRuntimeInfo().isStarted() && operator.getRuntimeInfo().allEventSourcesAreHealthy());
    health.json(SyncReport.PATH, () -> SyncReport.of(sync.all()).toString());
    health.start();
    LOG.info("health endpoints on {}:{} (/healthz, /readyz, {})", healthAddress, health.port(), SyncReport.PATH);

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      shuttingDown.set(true);
      LOG.info("stopping");
      operator.stop();
      if (renewals != null) {
        renewals.shutdownNow();
      }
      if (injection != null) {
        injection.stop();
      }
      if (ads != null) {
        ads.stop();
      }
      if (caRoots != null) {
        caRoots.close();
      }
      health.stop();
      stopped.countDown();
    }, "vmesh-shutdown"));
    operator.start();
    LOG.info("operator started");
    stopped.await();
    return 0;
  }

  /**
   * Waits for a server to stop, then for its Vert.x to close, each at most 5 s, from the shutdown hook's
   * thread. Chaining the close with {@code eventually} hangs: its result is delivered on an event loop of the
   * very Vert.x it closes, which is gone by then, so the hook never returns and SIGTERM never ends the process.
   */
  static void closeServer(Vertx vertx, io.vertx.core.Future<Void> stopped) {
    try {
      stopped.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("server did not stop cleanly within 5 s: {}", e.toString());
    }
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("Vert.x did not close within 5 s: {}", e.toString());
    }
  }

  /** The running webhook and what it needs to stop. */
  private record Webhook(Vertx vertx, WebhookServer server, CachedInjectionContext context, InjectionEvents decisions) {
    void stop() {
      closeServer(vertx, server.stop());
      context.close();
      decisions.close();
    }
  }

  /** The running ADS server, the pod cache its authentication reads, and what they need to stop. */
  private record Xds(Vertx vertx, AdsServer server, SharedIndexInformer<Pod> pods, ClusterStateSnapshotSource source) {
    void stop() {
      closeServer(vertx, server.stop());
      pods.close();
      source.close();
    }
  }

  /**
   * The serving certificate of the operator's Service, shared by the webhook and xDS over TLS: mounted (OLM,
   * cert-manager) or issued by the operator's CA and kept in a Secret, with the webhook configuration kept too when
   * the webhook runs.
   */
  private record Tls(Issued first, java.util.function.Supplier<Issued> next) {
  }

  /** A serving certificate and the CA bundle that verifies it (null when a mounted directory has no ca.crt). */
  private record Issued(ServingCertificate serving, String caBundle) {
    static Issued of(WebhookCertificates certificates, Clock clock) {
      return new Issued(certificates.serving(), certificates.caBundlePem(clock.instant()));
    }

    static Issued read(Path dir) throws java.io.IOException {
      Path ca = dir.resolve("ca.crt");
      return new Issued(ServingCertificate.read(dir), java.nio.file.Files.isRegularFile(ca) ? java.nio.file.Files.readString(ca) : null);
    }
  }

  private Tls tls(KubernetesClient client, Clock clock) throws Exception {
    if (!WebhookConfiguration.FAILURE_POLICIES.contains(failurePolicy)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--webhook-failure-policy must be Fail or Ignore, got " + failurePolicy);
    }
    if (webhookCertDir != null) {
      LOG.info("certificate mounted from {}: the operator manages neither its Secret nor the webhook configuration", webhookCertDir);
      Path dir = webhookCertDir;
      return new Tls(Issued.read(dir), () -> {
        try {
          return Issued.read(dir);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
    }
    WebhookTls keeper = new WebhookTls(client, clock, namespace, webhookSecret, webhookService, webhookServicePort,
        webhookConfiguration, failurePolicy, List.of(xdsService));
    java.util.function.Supplier<Issued> next = webhook ? () -> Issued.of(keeper.reconcile(), clock) : () -> Issued.of(keeper.certificates(), clock);
    return new Tls(next.get(), next);
  }

  /** Hourly: a renewed certificate goes to both listeners, a renewed CA to the proxies' ConfigMaps. */
  private static ScheduledExecutorService renewals(Tls tls, Webhook injection, Xds ads, CaRootConfigMaps caRoots) {
    ScheduledExecutorService renewals = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "vmesh-tls-renewal"));
    ServingCertificate[] served = {tls.first().serving()};
    renewals.scheduleWithFixedDelay(() -> {
      try {
        Issued issued = tls.next().get();
        ServingCertificate next = issued.serving();
        // the CA bundle first: it carries the previous CA too, so proxies trust both the old and the new certificate
        if (caRoots != null && issued.caBundle() != null) {
          caRoots.update(issued.caBundle());
        }
        if (!next.equals(served[0])) {
          if (injection != null) {
            injection.server().updateCertificates(next).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
          }
          if (ads != null) {
            ads.server().updateCertificate(next).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
          }
          served[0] = next;
          LOG.info("now serving the renewed certificate");
        }
      } catch (Exception e) {
        // the current certificate stays valid for weeks: try again at the next round
        LOG.error("certificate check failed", e);
      }
    }, 1, 1, TimeUnit.HOURS);
    return renewals;
  }

  private Webhook startWebhook(KubernetesClient client, TransitionEvents events, ServingCertificate certificate) throws Exception {
    var version = client.getKubernetesVersion();
    InjectionSettings settings = InjectionSettings.of(proxyImage, xdsAddress, xdsCaConfigMap, version.getMajor() + "." + version.getMinor(),
        InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);
    CachedInjectionContext context = new CachedInjectionContext(client, settings);
    InjectionEvents decisions = new InjectionEvents(events);
    AdmissionHandler handler = new AdmissionHandler(context, decisions);
    Vertx vertx = Vertx.vertx();
    WebhookServer server = new WebhookServer(vertx, handler).start(webhookAddress, webhookPort, certificate)
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    LOG.info("injection webhook on https://{}:{}{} (cluster {})", webhookAddress, server.port(), WebhookServer.PATH, settings.clusterVersion());
    return new Webhook(vertx, server, context, decisions);
  }

  private Xds startXds(KubernetesClient client, Clock clock, SyncStatus sync, ServingCertificate certificate) throws Exception {
    SharedIndexInformer<Pod> pods = client.pods().inAnyNamespace().inform();
    // every replica builds and serves config, not only the leader: proxies connect to any of them through the Service
    ClusterStateSnapshotSource source = new ClusterStateSnapshotSource(client, namespace);
    source.start();
    Vertx vertx = Vertx.vertx();
    AdsServer server = new AdsServer(vertx, source, new TokenReviewAuthenticator(client, TokenReviewAuthenticator.podsOf(pods)), sync, clock);
    server.startPlaintext(xdsListenAddress, xdsPort).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    server.startTls(xdsListenAddress, xdsTlsPort, certificate).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    LOG.info("xDS (ADS) on {}:{} (plaintext) and {}:{} (TLS)", xdsListenAddress, server.plaintextPort(), xdsListenAddress, server.tlsPort());
    return new Xds(vertx, server, pods, source);
  }

  /** The CA ConfigMaps, when the proxies are to verify xDS over TLS and the operator knows the CA. */
  private CaRootConfigMaps caRoots(KubernetesClient client, Issued first) {
    if (xdsCaConfigMap.isBlank()) {
      LOG.info("--xds-ca-configmap is empty: no CA ConfigMaps; injected proxies use {} without TLS", xdsAddress);
      return null;
    }
    if (first.caBundle() == null) {
      LOG.warn("{} has no ca.crt: no ConfigMap {} is written, and injected proxies cannot verify xDS over TLS "
          + "(mount ca.crt, or use a plaintext --xds-address with --xds-ca-configmap='')", webhookCertDir, xdsCaConfigMap);
      return null;
    }
    return new CaRootConfigMaps(client, xdsCaConfigMap, InjectionSettings.DEFAULT_SYSTEM_NAMESPACES).start(first.caBundle());
  }

  private String identity() throws java.net.UnknownHostException {
    if (identity != null && !identity.isBlank()) {
      return identity;
    }
    return InetAddress.getLocalHost().getHostName() + "-" + ProcessHandle.current().pid();
  }
}
