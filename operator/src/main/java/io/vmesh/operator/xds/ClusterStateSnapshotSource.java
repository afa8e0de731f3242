package io.vmesh.operator.xds;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.TrafficCapture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link SnapshotSource} of a running operator: informers on Services, EndpointSlices, Pods, TrafficCaptures and
 * MeshPolicies in every namespace; after each debounced batch of events (100 ms quiet, 10 s at most) every proxy's
 * snapshot is rebuilt and compared with the previous one, and only the proxies whose snapshot changed are named
 * to the listeners. {@link #start()} returns once the caches are synced and the first snapshots are built.
 */
public final class ClusterStateSnapshotSource implements SnapshotSource, AutoCloseable {

  public static final Duration QUIET = Duration.ofMillis(100);
  public static final Duration MAX_DELAY = Duration.ofSeconds(10);
  private static final Logger LOG = LoggerFactory.getLogger(ClusterStateSnapshotSource.class);

  private final KubernetesClient client;
  private final String operatorNamespace;
  private final ScheduledExecutorService executor;
  private final Debounce debounce;
  private final List<Consumer<Set<ProxyId>>> listeners = new CopyOnWriteArrayList<>();
  private final List<SharedIndexInformer<? extends HasMetadata>> informers = new ArrayList<>();
  private SharedIndexInformer<Service> services;
  private SharedIndexInformer<EndpointSlice> slices;
  private SharedIndexInformer<Pod> pods;
  private SharedIndexInformer<TrafficCapture> captures;
  private SharedIndexInformer<MeshPolicy> policies;
  private volatile Map<ProxyId, ProxySnapshot> snapshots = Map.of();

  public ClusterStateSnapshotSource(KubernetesClient client, String operatorNamespace) {
    this(client, operatorNamespace, QUIET, MAX_DELAY);
  }

  public ClusterStateSnapshotSource(KubernetesClient client, String operatorNamespace, Duration quiet, Duration maxDelay) {
    this.client = Objects.requireNonNull(client, "client");
    this.operatorNamespace = Objects.requireNonNull(operatorNamespace, "operatorNamespace");
    this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "vmesh-xds-snapshots");
      thread.setDaemon(true);
      return thread;
    });
    this.debounce = new Debounce(executor, quiet, maxDelay, this::rebuildAndNotify, System::nanoTime);
  }

  /** Starts the informers, waits for their first list, and builds every proxy's snapshot. */
  public synchronized void start() {
    if (!informers.isEmpty()) {
      throw new IllegalStateException("already started");
    }
    ResourceEventHandler<HasMetadata> onEvent = new ResourceEventHandler<>() {
      @Override
      public void onAdd(HasMetadata obj) {
        debounce.event();
      }

      @Override
      public void onUpdate(HasMetadata oldObj, HasMetadata newObj) {
        // resyncs and status-only writes repeat the same resourceVersion or change nothing generation cares about
        if (!Objects.equals(oldObj.getMetadata().getResourceVersion(), newObj.getMetadata().getResourceVersion())) {
          debounce.event();
        }
      }

      @Override
      public void onDelete(HasMetadata obj, boolean deletedFinalStateUnknown) {
        debounce.event();
      }
    };
    services = watch(client.resources(Service.class).inAnyNamespace().runnableInformer(0), onEvent);
    slices = watch(client.resources(EndpointSlice.class).inAnyNamespace().runnableInformer(0), onEvent);
    pods = watch(client.resources(Pod.class).inAnyNamespace().runnableInformer(0), onEvent);
    captures = watch(client.resources(TrafficCapture.class).inAnyNamespace().runnableInformer(0), onEvent);
    policies = watch(client.resources(MeshPolicy.class).inAnyNamespace().runnableInformer(0), onEvent);
    for (SharedIndexInformer<? extends HasMetadata> informer : informers) {
      informer.start().toCompletableFuture().join();
    }
    snapshots = SnapshotGenerator.generate(MeshModelBuilder.build(state()));
    LOG.info("xds snapshots built for {} proxies", snapshots.size());
  }

  @SuppressWarnings("unchecked")
  private <T extends HasMetadata> SharedIndexInformer<T> watch(SharedIndexInformer<T> informer, ResourceEventHandler<HasMetadata> handler) {
    informer.addEventHandler((ResourceEventHandler<T>) (ResourceEventHandler<?>) handler);
    informers.add(informer);
    return informer;
  }

  /** The informer caches as they are now. */
  private ClusterState state() {
    return new ClusterState(services.getStore().list(), slices.getStore().list(), pods.getStore().list(),
        captures.getStore().list(), policies.getStore().list(), operatorNamespace);
  }

  private void rebuildAndNotify() {
    Map<ProxyId, ProxySnapshot> next;
    try {
      next = SnapshotGenerator.generate(MeshModelBuilder.build(state()));
    } catch (RuntimeException e) {
      // the proxies keep the config they have; the next event tries again
      LOG.error("building xds snapshots failed; proxies keep their current config", e);
      return;
    }
    Map<ProxyId, ProxySnapshot> previous = snapshots;
    Set<ProxyId> changed = new HashSet<>();
    SnapshotComparison comparison = new SnapshotComparison();
    next.forEach((id, snapshot) -> {
      if (!comparison.same(previous.get(id), snapshot)) {
        changed.add(id);
      }
    });
    previous.keySet().stream().filter(id -> !next.containsKey(id)).forEach(changed::add);
    snapshots = next;
    if (changed.isEmpty()) {
      return;
    }
    LOG.debug("xds snapshots changed for {} of {} proxies", changed.size(), next.size());
    Set<ProxyId> names = Set.copyOf(changed);
    for (Consumer<Set<ProxyId>> listener : listeners) {
      try {
        listener.accept(names);
      } catch (RuntimeException e) {
        LOG.error("an xds change listener failed", e);
      }
    }
  }

  @Override
  public Optional<ProxySnapshot> snapshot(ProxyId proxy) {
    return Optional.ofNullable(snapshots.get(proxy));
  }

  @Override
  public void onChange(Consumer<Set<ProxyId>> listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Stops the informers and the rebuild thread. */
  @Override
  public synchronized void close() {
    informers.forEach(SharedIndexInformer::close);
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
