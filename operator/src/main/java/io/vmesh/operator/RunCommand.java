package io.vmesh.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.vmesh.operator.capture.TrafficCaptureReconciler;
import io.vmesh.operator.policy.MeshPolicyReconciler;
import io.vmesh.operator.status.TransitionEvents;
import java.net.InetAddress;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vmesh-operator run}: the controllers, leader election and the health endpoints. */
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
    Operator operator = new Operator(o -> {
      o.withKubernetesClient(client)
          // JSON merge patch for status, in production too: the embedded API server has no server-side apply
          .withUseSSAToPatchPrimaryResource(false)
          .withStopOnInformerErrorDuringStartup(true);
      if (leaderElection) {
        o.withLeaderElectionConfiguration(new LeaderElectionConfiguration(leaseName, lease, me));
      }
    });
    TransitionEvents events = new TransitionEvents(client, clock);
    operator.register(new TrafficCaptureReconciler(clock, events));
    operator.register(new MeshPolicyReconciler(clock, events, namespace));

    HealthServer health = new HealthServer(healthAddress, healthPort,
        () -> true,
        () -> operator.getRuntimeInfo().isStarted() && operator.getRuntimeInfo().allEventSourcesAreHealthy());
    health.start();
    LOG.info("health endpoints on {}:{} (/healthz, /readyz)", healthAddress, health.port());

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping");
      operator.stop();
      health.stop();
      stopped.countDown();
    }, "vmesh-shutdown"));
    operator.start();
    LOG.info("operator started");
    stopped.await();
    return 0;
  }

  private String identity() throws java.net.UnknownHostException {
    if (identity != null && !identity.isBlank()) {
      return identity;
    }
    return InetAddress.getLocalHost().getHostName() + "-" + ProcessHandle.current().pid();
  }
}
