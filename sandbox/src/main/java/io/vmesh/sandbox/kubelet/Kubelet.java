package io.vmesh.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.vmesh.sandbox.topology.Topology;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's kubelet. There is no scheduler: it binds every pod that has no node to this one (sets
 * {@code spec.nodeName}) and runs each pod of this node in its own {@link PodWorker}; a pod that disappears or
 * gets a {@code deletionTimestamp} is stopped. It lists the pods twice a second rather than watching them,
 * which is plenty for a sandbox and survives an API server that drops watches.
 */
public final class Kubelet implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Kubelet.class);
  public static final String NODE_NAME = "vmesh-node";

  private final KubernetesClient client;
  private final Topology topology;
  private final ImageTable images;
  private final PodNetwork network;
  private final Path logRoot;
  private final Map<String, PodWorker> workers = new HashMap<>();
  private final Set<String> ended = new HashSet<>();
  private volatile boolean closed;

  public Kubelet(KubernetesClient client, Topology topology, ImageTable images, PodNetwork network, Path logRoot) {
    this.client = client;
    this.topology = topology;
    this.images = images;
    this.network = network;
    this.logRoot = logRoot;
  }

  /** Registers the Node object, so {@code kubectl get nodes} and the pods' spec.nodeName have something to name. */
  public void register() {
    client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE_NAME)
        .addToLabels("kubernetes.io/hostname", NODE_NAME).addToLabels("kubernetes.io/os", "linux").endMetadata()
        .withNewStatus().addNewCondition().withType("Ready").withStatus("True").withReason("KubeletReady")
        .withMessage("vmesh sandbox kubelet is posting ready status").endCondition()
        .addNewAddress().withType("InternalIP").withAddress(Topology.GATEWAY).endAddress()
        .withNewNodeInfo().withKubeletVersion("v1.32.0-vmesh").withOperatingSystem("linux").withArchitecture("amd64")
        .withContainerRuntimeVersion("vmesh-sandbox://processes").withKernelVersion("").withOsImage("").withKubeProxyVersion("")
        .withMachineID("").withSystemUUID("").withBootID("").endNodeInfo().endStatus().build()).createOr(n -> n.update());
  }

  /** Lists pods and starts or stops workers until closed. */
  public void run() {
    while (!closed) {
      try {
        sync();
      } catch (KubernetesClientException e) {
        LOG.warn("cannot list pods: {}", e.getMessage());
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  synchronized void sync() {
    List<Pod> pods = client.pods().inAnyNamespace().list().getItems();
    Set<String> live = new HashSet<>();
    for (Pod pod : pods) {
      String uid = pod.getMetadata().getUid();
      live.add(uid);
      String nodeName = pod.getSpec().getNodeName();
      if (nodeName != null && !nodeName.isEmpty() && !nodeName.equals(NODE_NAME)) {
        continue;
      }
      PodWorker running = workers.get(uid);
      if (pod.getMetadata().getDeletionTimestamp() != null) {
        if (running != null) {
          running.stop();
        }
        continue;
      }
      if (running != null || ended.contains(uid) || closed) {
        continue;
      }
      String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
      if ("Succeeded".equals(phase) || "Failed".equals(phase)) {
        ended.add(uid);
        continue;
      }
      if (nodeName == null || nodeName.isEmpty()) {
        bind(pod);
      }
      PodWorker worker = new PodWorker(pod, client, topology, images, network,
          logRoot.resolve(pod.getMetadata().getNamespace() + "_" + pod.getMetadata().getName() + "_" + uid), NODE_NAME);
      workers.put(uid, worker);
      Thread t = new Thread(worker, "pod-" + pod.getMetadata().getName());
      t.setDaemon(true);
      t.start();
    }
    workers.entrySet().removeIf(e -> {
      if (!live.contains(e.getKey())) {
        e.getValue().stop();
      }
      if (e.getValue().finished()) {
        ended.add(e.getKey());
        return true;
      }
      return false;
    });
  }

  private void bind(Pod pod) {
    pod.getSpec().setNodeName(NODE_NAME);
    try {
      client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
          .patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
              "{\"spec\":{\"nodeName\":\"" + NODE_NAME + "\"}}");
    } catch (KubernetesClientException e) {
      LOG.warn("pod {}/{}: cannot bind it to {}: {}", pod.getMetadata().getNamespace(), pod.getMetadata().getName(), NODE_NAME, e.getMessage());
    }
  }

  /** Stops every pod (preStop hooks, grace periods) and waits for them, at most {@code 40 s}. */
  @Override
  public void close() {
    List<PodWorker> all;
    synchronized (this) {
      closed = true;
      all = List.copyOf(workers.values());
    }
    all.forEach(PodWorker::stop);
    long deadline = System.nanoTime() + 40_000_000_000L;
    for (PodWorker w : all) {
      while (!w.finished() && System.nanoTime() < deadline) {
        try {
          Thread.sleep(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
