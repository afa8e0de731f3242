package io.vmesh.sandbox.cluster;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.vmesh.sandbox.controllers.DeploymentController;
import io.vmesh.sandbox.controllers.EndpointSliceController;
import io.vmesh.sandbox.controllers.JobController;
import io.vmesh.sandbox.controllers.ServiceAccountController;
import io.vmesh.sandbox.controllers.ServiceProxy;
import io.vmesh.sandbox.kubelet.ImageTable;
import io.vmesh.sandbox.kubelet.Kubelet;
import io.vmesh.sandbox.topology.Topology;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmesh-sandbox node}: the node agent, run by {@link MeshInABox} inside the node namespace as root — the
 * kubelet, kube-proxy (Service rules and hosts files), the Deployment, Job, EndpointSlice and ServiceAccount controllers. Prints
 * {@code vmesh-node ready} once it has synced once; on SIGTERM it stops every pod the graceful way and removes
 * their namespaces.
 */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = "Run the sandbox's kubelet and controllers in the node namespace (started by MeshInABox; needs root).")
public final class NodeCommand implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(NodeCommand.class);
  /** How often the controllers list and reconcile. */
  private static final long SYNC_MILLIS = 500;
  /** Runs {@code vmesh-sandbox.jar}: its args pick the app ({@code matrix-server}, {@code matrix-client}, {@code echo-server}…). */
  public static final String MATRIX_IMAGE = MeshInABox.SAMPLE_IMAGE_PREFIX + "matrix";

  @Option(names = "--kubeconfig", required = true, paramLabel = "FILE")
  Path kubeconfig;

  @Option(names = "--node-netns", required = true, paramLabel = "NAME", description = "The node namespace this runs in.")
  String nodeNetns;

  @Option(names = "--work-dir", required = true, paramLabel = "DIR", description = "The sandbox's staging folder (pod logs go under pods/).")
  Path workDir;

  @Option(names = "--proxy-jar", required = true, paramLabel = "JAR", description = "Image ghcr.io/vmesh/vmesh-proxy runs this jar.")
  Path proxyJar;

  @Option(names = "--operator-jar", paramLabel = "JAR", description = "Image ghcr.io/vmesh/vmesh-operator runs this jar.")
  Path operatorJar;

  @Option(names = "--apps-dir", paramLabel = "DIR",
      description = "Sample apps: each NAME.py here is image ghcr.io/vmesh/samples/NAME.")
  Path appsDir;

  @Override
  public Integer call() throws Exception {
    ImageTable images = images(proxyJar, operatorJar, appsDir);
    Topology topology = Topology.attach(nodeNetns, workDir);
    KubernetesClient client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(kubeconfig))).build();
    ServiceProxy services = new ServiceProxy(client);
    services.prepareNode();
    Kubelet kubelet = new Kubelet(client, topology, images, services, workDir.resolve("pods"));
    DeploymentController deployments = new DeploymentController(client);
    JobController jobs = new JobController(client, java.time.Clock.systemUTC());
    EndpointSliceController endpoints = new EndpointSliceController(client);
    ServiceAccountController serviceAccounts = new ServiceAccountController(client);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping: every pod is stopped and its namespace removed");
      kubelet.close();
      topology.close();
      stopped.countDown();
    }, "node-shutdown"));
    kubelet.register();
    services.sync();
    Thread kubeletThread = new Thread(kubelet::run, "kubelet");
    kubeletThread.setDaemon(true);
    kubeletThread.start();
    Thread controllers = new Thread(() -> {
      while (stopped.getCount() > 0) {
        for (Runnable step : List.<Runnable>of(serviceAccounts::sync, deployments::sync, jobs::sync, endpoints::sync,
            services::sync)) {
          try {
            step.run();
          } catch (RuntimeException e) {
            LOG.warn("controller pass failed: {}", e.toString());
          }
        }
        try {
          Thread.sleep(SYNC_MILLIS);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "controllers");
    controllers.setDaemon(true);
    controllers.start();
    System.out.println("vmesh-node ready: node " + Kubelet.NODE_NAME + " in " + nodeNetns + ", images " + images.repositories());
    System.out.flush();
    stopped.await();
    return 0;
  }

  static ImageTable images(Path proxyJar, Path operatorJar, Path appsDir) throws java.io.IOException {
    ImageTable images = new ImageTable().withJar("ghcr.io/vmesh/vmesh-proxy", "vmesh-proxy", proxyJar);
    if (operatorJar != null) {
      images.withJar("ghcr.io/vmesh/vmesh-operator", "vmesh-operator", operatorJar);
    }
    // the transparency matrix's app (every protocol, dual-stack) is a subcommand of this jar
    images.withJar(MATRIX_IMAGE, "vmesh-sandbox", io.vmesh.sandbox.Artifacts.sandboxJar());
    if (appsDir != null) {
      try (Stream<Path> scripts = Files.list(appsDir)) {
        // a leading underscore marks a helper module the apps import, not an image
        for (Path script : scripts.filter(p -> p.getFileName().toString().endsWith(".py") && !p.getFileName().toString().startsWith("_"))
            .sorted().toList()) {
          String name = script.getFileName().toString();
          images.withPythonScript(MeshInABox.SAMPLE_IMAGE_PREFIX + name.substring(0, name.length() - 3), script);
        }
      }
    }
    return images;
  }
}
