package io.vmesh.sandbox.cluster;

import io.vmesh.sandbox.Artifacts;
import io.vmesh.sandbox.topology.PodProcess;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SandboxException;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mesh-in-a-box: a one-node cluster made of processes in a closed network. The node namespace (bridge
 * {@code 10.88.0.1}) holds the whole control plane: the embedded API server on {@code 10.88.0.1:6443}, the
 * operator ({@code vmesh-operator.jar run}, unchanged, with leader election and its webhook on
 * {@code 10.88.0.1:9443}) and the node agent (kubelet, kube-proxy, controllers). The operator is made reachable
 * the way its Deployment would be: Services {@code vmesh-system/vmesh-webhook} and {@code vmesh-xds} whose
 * EndpointSlices point at the node, which is how the API server's admission step finds the webhook and how pods
 * find xDS.
 * {@link #close()} (also run on Ctrl-C) stops every process and removes every namespace, link and file.
 */
public final class MeshInABox implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(MeshInABox.class);
  public static final String SAMPLE_IMAGE_PREFIX = "ghcr.io/vmesh/samples/";
  public static final String API_ADDRESS = Topology.GATEWAY + ":6443";
  public static final int WEBHOOK_PORT = 9443;
  public static final int XDS_PORT = 15010;
  public static final int XDS_TLS_PORT = 15012;
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  /** The jars and the checkout it runs from; {@code failurePolicy} is the webhook's (Fail or Ignore). */
  public record Settings(Path apiserverJar, Path operatorJar, Path proxyJar, Path sandboxJar, Path repo, String failurePolicy) {
    public static Settings beside(Path sandboxJar) {
      return new Settings(Artifacts.moduleJarBeside(sandboxJar, "apiserver"), Artifacts.moduleJarBeside(sandboxJar, "operator"),
          Artifacts.moduleJarBeside(sandboxJar, "proxy"), sandboxJar, Artifacts.checkoutOf(sandboxJar), "Fail");
    }
  }

  private final Settings settings;
  private final Topology topology;
  private final Path kubeconfig;
  private PodProcess apiserver;
  private PodProcess operator;
  private PodProcess node;
  private Path stagedOperator;
  private final Thread shutdownHook = new Thread(this::close, "mesh-in-a-box-cleanup");
  private boolean closed;

  private MeshInABox(Settings settings, Topology topology) {
    this.settings = settings;
    this.topology = topology;
    this.kubeconfig = topology.workDir().resolve("kubeconfig");
  }

  /** Starts everything and returns once pods can be created; on any failure everything made so far is removed. */
  public static MeshInABox start(Settings settings) {
    for (Path jar : List.of(settings.apiserverJar(), settings.operatorJar(), settings.proxyJar(), settings.sandboxJar())) {
      if (!Files.isRegularFile(jar)) {
        throw new SandboxException("no jar at " + jar + "; build with ./mvnw -B package -DskipTests");
      }
    }
    if (!settings.failurePolicy().equals("Fail") && !settings.failurePolicy().equals("Ignore")) {
      throw new IllegalArgumentException("failurePolicy must be Fail or Ignore, not " + settings.failurePolicy());
    }
    MeshInABox box = new MeshInABox(settings, Topology.create());
    Runtime.getRuntime().addShutdownHook(box.shutdownHook);
    try {
      box.boot();
      return box;
    } catch (RuntimeException e) {
      LOG.error("mesh-in-a-box did not start; logs:\n{}", box.logs());
      box.close();
      throw e;
    }
  }

  private void boot() {
    long start = System.nanoTime();
    Path apiserverJar = topology.stage(settings.apiserverJar());
    stagedOperator = topology.stage(settings.operatorJar());
    Path proxyJar = topology.stage(settings.proxyJar());
    Path sandboxJar = topology.stage(settings.sandboxJar());
    Path apps = stageApps(settings.repo().resolve("samples/apps"));

    apiserver = topology.startInNode("apiserver", Map.of(), Artifacts.javaJar(apiserverJar, "--host", Topology.GATEWAY,
        "--port", API_ADDRESS.substring(API_ADDRESS.indexOf(':') + 1), "--kubeconfig-out", kubeconfig.toString()));
    apiserver.awaitLine(l -> l.startsWith("vmesh-apiserver ready"), START_TIMEOUT);
    long apiserverUp = System.nanoTime();
    kubectlOk("apply", "--validate=false", "-f", settings.repo().resolve("crds").toString());
    kubectlApply(controlPlane());
    long applied = System.nanoTime();

    // the operator and the node agent only need the API server: their JVMs start side by side
    launchOperator();
    List<String> nodeArgs = new ArrayList<>(List.of("node", "--kubeconfig", kubeconfig.toString(), "--node-netns",
        topology.nodeNetns(), "--work-dir", topology.workDir().toString(), "--proxy-jar", proxyJar.toString(),
        "--operator-jar", stagedOperator.toString()));
    if (apps != null) {
      nodeArgs.addAll(List.of("--apps-dir", apps.toString()));
    }
    node = topology.startInNode("node", Map.of(), Artifacts.javaJar(sandboxJar, nodeArgs.toArray(String[]::new)));
    PodProcess external = null;
    if (apps != null && Files.isRegularFile(apps.resolve("external.py"))) {
      external = topology.addExternalHost("external").start("external", RunAs.ROOT, Map.of("PORT", "80", "PATH", "/usr/bin:/bin"),
          List.of("/usr/bin/python3", "-u", apps.resolve("external.py").toString()));
    }
    awaitOperator();
    awaitWebhookConfiguration();
    long operatorUp = System.nanoTime();
    node.awaitLine(l -> l.startsWith("vmesh-node ready"), START_TIMEOUT);
    if (external != null) {
      external.awaitLine(l -> l.startsWith("external listening"), START_TIMEOUT);
    }
    LOG.info("started in {} ms: API server {} ms, CRDs and control plane applied {} ms, operator with its webhook "
            + "configuration {} ms, then node agent {} ms", ms(start, System.nanoTime()), ms(start, apiserverUp),
        ms(apiserverUp, applied), ms(applied, operatorUp), ms(operatorUp, System.nanoTime()));
  }

  private static long ms(long fromNanos, long toNanos) {
    return (toNanos - fromNanos) / 1_000_000;
  }

  /** The server outside the mesh, {@code http://192.0.2.10/} (when samples/apps/external.py exists). */
  public static String externalUrl() {
    return "http://" + Topology.EXTERNAL_IP + "/";
  }

  /** Starts the operator as its Deployment would run it; usable again after {@link #stopOperator()}. */
  public void startOperator() {
    launchOperator();
    awaitOperator();
  }

  private void launchOperator() {
    if (operator != null && operator.isAlive()) {
      throw new IllegalStateException("the operator already runs");
    }
    operator = topology.startInNode("operator", Map.of("KUBECONFIG", kubeconfig.toString(), "POD_NAME", "vmesh-operator-0",
        "POD_NAMESPACE", "vmesh-system"), Artifacts.javaJar(stagedOperator, "run", "--namespace", "vmesh-system",
        "--identity", "vmesh-operator-0", "--health-address", "127.0.0.1", "--health-port", "8081",
        "--webhook-address", Topology.GATEWAY, "--webhook-port", String.valueOf(WEBHOOK_PORT),
        "--webhook-failure-policy", settings.failurePolicy()));
  }

  private void awaitOperator() {
    operator.awaitLine(l -> l.contains("injection webhook on https://"), START_TIMEOUT);
  }

  /** Stops the operator (its webhook goes with it): what failurePolicy is for. */
  public void stopOperator() {
    if (operator != null) {
      operator.stop(Duration.ofSeconds(10));
    }
  }

  /** Kills the operator with SIGKILL, as a crashed or evicted pod: no shutdown, its Lease and streams just go silent. */
  public void killOperator() {
    if (operator != null) {
      operator.kill();
    }
  }

  private void awaitWebhookConfiguration() {
    Instant deadline = Instant.now().plus(START_TIMEOUT);
    while (Instant.now().isBefore(deadline)) {
      SystemCommand.Result r = kubectl("get", "mutatingwebhookconfiguration", "vmesh-injector", "-o",
          "jsonpath={.webhooks[0].clientConfig.caBundle}");
      if (r.ok() && !r.stdout().isBlank()) {
        return;
      }
      try {
        Thread.sleep(300);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SandboxException("interrupted", e);
      }
    }
    throw new SandboxException("the operator wrote no MutatingWebhookConfiguration vmesh-injector within " + START_TIMEOUT.toSeconds() + " s");
  }

  /**
   * The namespace, and the operator's Services as deploy/ names them ({@code vmesh-webhook} 443 → 9443,
   * {@code vmesh-xds} 15010 and 15012), without selectors: EndpointSlices point them at the node, where the
   * operator runs, as its Deployment's pod would be.
   */
  private static String controlPlane() {
    return """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: vmesh-system
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: vmesh-webhook
          namespace: vmesh-system
        spec:
          ports:
          - name: https-webhook
            port: 443
            targetPort: %1$d
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: vmesh-xds
          namespace: vmesh-system
        spec:
          ports:
          - name: grpc-xds
            port: %2$d
            targetPort: %2$d
          - name: https-xds
            port: %3$d
            targetPort: %3$d
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: vmesh-webhook-node
          namespace: vmesh-system
          labels:
            kubernetes.io/service-name: vmesh-webhook
            endpointslice.kubernetes.io/managed-by: mesh-in-a-box
        addressType: IPv4
        ports:
        - name: https-webhook
          port: %1$d
          protocol: TCP
        endpoints:
        - addresses: ["%4$s"]
          conditions:
            ready: true
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: vmesh-xds-node
          namespace: vmesh-system
          labels:
            kubernetes.io/service-name: vmesh-xds
            endpointslice.kubernetes.io/managed-by: mesh-in-a-box
        addressType: IPv4
        ports:
        - name: grpc-xds
          port: %2$d
          protocol: TCP
        - name: https-xds
          port: %3$d
          protocol: TCP
        endpoints:
        - addresses: ["%4$s"]
          conditions:
            ready: true
        """.formatted(WEBHOOK_PORT, XDS_PORT, XDS_TLS_PORT, Topology.GATEWAY);
  }

  /** Copies the sample apps where every uid can read them (they run as the uids their pods say). */
  private Path stageApps(Path source) {
    if (!Files.isDirectory(source)) {
      return null;
    }
    try {
      Path target = Files.createDirectories(topology.workDir().resolve("apps"));
      Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
      try (Stream<Path> files = Files.list(source)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          Path copy = target.resolve(f.getFileName());
          Files.copy(f, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
        }
      }
      return target;
    } catch (IOException e) {
      throw new SandboxException("cannot stage the sample apps from " + source + ": " + e.getMessage(), e);
    }
  }

  /** Runs the real kubectl in the node namespace against the box's API server. */
  public SystemCommand.Result kubectl(String... args) {
    List<String> cmd = new ArrayList<>(List.of("kubectl", "--kubeconfig", kubeconfig.toString()));
    cmd.addAll(List.of(args));
    return topology.runInNode(Duration.ofSeconds(60), cmd);
  }

  public SystemCommand.Result kubectlOk(String... args) {
    return kubectl(args).orThrow();
  }

  /** {@code kubectl apply --validate=false -f} of YAML text. */
  public SystemCommand.Result kubectlApply(String yaml) {
    Path file = topology.workDir().resolve("apply-" + System.nanoTime() + ".yaml");
    try {
      Files.writeString(file, yaml);
      return kubectlOk("apply", "--validate=false", "-f", file.toString());
    } catch (IOException e) {
      throw new SandboxException("cannot write " + file + ": " + e.getMessage(), e);
    } finally {
      file.toFile().delete();
    }
  }

  public Topology topology() {
    return topology;
  }

  public Path kubeconfig() {
    return kubeconfig;
  }

  /** The folder of a pod's container logs ({@code <container>.log}), like /var/log/pods. */
  public Path podLogs(String namespace, String pod) {
    try (Stream<Path> dirs = Files.list(topology.workDir().resolve("pods"))) {
      return dirs.filter(d -> d.getFileName().toString().startsWith(namespace + "_" + pod + "_")).findFirst()
          .orElseThrow(() -> new SandboxException("no logs of pod " + namespace + "/" + pod));
    } catch (IOException e) {
      throw new SandboxException("no pod logs: " + e.getMessage(), e);
    }
  }

  /** The network namespace the kubelet made for a pod: the one whose eth0 has the pod's IP. */
  public String netnsOf(String namespace, String pod) {
    String ip = kubectlOk("get", "pod", pod, "-n", namespace, "-o", "jsonpath={.status.podIP}").stdout().strip();
    if (ip.isEmpty()) {
      throw new SandboxException("pod " + namespace + "/" + pod + " has no IP yet");
    }
    for (String line : SystemCommand.check("ip", "netns", "list").stdout().split("\n")) {
      String name = line.split(" ")[0].strip();
      if (name.startsWith(topology.netnsPrefix()) && !name.equals(topology.nodeNetns())) {
        SystemCommand.Result addr = SystemCommand.run(List.of("ip", "-n", name, "-o", "-4", "addr", "show", "dev", "eth0"), Duration.ofSeconds(10));
        if (addr.ok() && addr.stdout().contains(" " + ip + "/")) {
          return name;
        }
      }
    }
    throw new SandboxException("no network namespace holds " + ip + " (pod " + namespace + "/" + pod + ")");
  }

  /** Runs a command inside a pod's network namespace, as {@code kubectl exec} would (as root). */
  public SystemCommand.Result execInPod(String netnsName, Duration timeout, List<String> command) {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", netnsName));
    cmd.addAll(command);
    return SystemCommand.run(cmd, timeout);
  }

  /** What the control plane printed, for failure reports. */
  public String logs() {
    StringBuilder out = new StringBuilder();
    for (PodProcess p : new PodProcess[] {apiserver, operator, node}) {
      if (p != null) {
        out.append("---- ").append(p.name()).append('\n');
        List<String> lines = new ArrayList<>(p.stdout());
        lines.addAll(p.stderr());
        lines.subList(0, Math.max(0, lines.size() - 300)).clear();
        lines.forEach(l -> out.append(l).append('\n'));
      }
    }
    return out.toString();
  }

  /** Stops the node agent first (it stops every pod, with their preStop hooks), then the rest, then removes everything. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // already shutting down: this is the hook
    }
    long start = System.nanoTime();
    // the operator stops while the pods do (their sidecars keep their last config); the API server stays until the
    // node agent has written the pods' last status
    PodProcess stoppingOperator = operator;
    Thread operatorStop = new Thread(() -> {
      if (stoppingOperator != null) {
        stoppingOperator.close();
      }
    }, "operator-stop");
    operatorStop.start();
    if (node != null) {
      node.stop(Duration.ofSeconds(45));
    }
    try {
      operatorStop.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long stopped = System.nanoTime();
    topology.close();
    LOG.info("teardown: node agent with its pods, and the operator, {} ms; API server and namespaces {} ms",
        ms(start, stopped), ms(stopped, System.nanoTime()));
  }
}
