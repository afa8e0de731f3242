package io.vmesh.operator.webhook;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.vmesh.operator.inject.AdmissionHandler;
import io.vmesh.operator.inject.InjectionDecision;
import io.vmesh.operator.status.TransitionEvents;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes each admission decision visible: a log line, and an Event ({@code Injected}, {@code InjectionSkipped},
 * {@code InjectionRefused}) on the pod's controller (its ReplicaSet, Job...) or on the pod itself. The API calls run on
 * one worker thread with a bounded queue, never on the event loop that answered the API server.
 */
public final class InjectionEvents implements Consumer<AdmissionHandler.Decided>, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(InjectionEvents.class);

  private final TransitionEvents events;
  private final ThreadPoolExecutor worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1000),
      r -> new Thread(r, "vmesh-injection-events"),
      // a burst of pod creations must not grow memory without bound: the log line above is kept anyway
      (r, pool) -> LOG.warn("injection Event dropped: more than 1000 waiting"));

  public InjectionEvents(TransitionEvents events) {
    this.events = events;
  }

  @Override
  public void accept(AdmissionHandler.Decided d) {
    InjectionDecision decision = d.decision();
    String pod = d.pod().getMetadata().getName() != null ? d.pod().getMetadata().getName() : d.pod().getMetadata().getGenerateName() + "*";
    LOG.info("pod {}/{}: {} ({}): {}", d.namespace(), pod, decision.outcome(), decision.reason(), decision.message());
    HasMetadata target = target(d.pod(), d.namespace());
    if (target == null) {
      return;
    }
    String reason = switch (decision.outcome()) {
      case INJECT -> "Injected";
      case SKIP -> "InjectionSkipped";
      case REFUSE -> "InjectionRefused";
    };
    String type = decision.outcome() == InjectionDecision.Outcome.REFUSE ? "Warning" : "Normal";
    worker.execute(() -> events.emit(target, type, reason, "pod " + pod + ": " + decision.reason() + ": " + decision.message()));
  }

  /** The pod's controller when it has one, else the pod; null for a pod without name or owner (nothing to point at). */
  static HasMetadata target(Pod pod, String namespace) {
    List<OwnerReference> owners = pod.getMetadata().getOwnerReferences() == null ? List.of() : pod.getMetadata().getOwnerReferences();
    OwnerReference owner = owners.stream().filter(o -> Boolean.TRUE.equals(o.getController())).findFirst().orElse(null);
    GenericKubernetesResource target = new GenericKubernetesResource();
    if (owner != null) {
      target.setApiVersion(owner.getApiVersion());
      target.setKind(owner.getKind());
      target.setMetadata(new ObjectMetaBuilder().withName(owner.getName()).withNamespace(namespace)
          .withUid(owner.getUid()).build());
      return target;
    }
    if (pod.getMetadata().getName() == null) {
      return null;
    }
    target.setApiVersion("v1");
    target.setKind("Pod");
    target.setMetadata(new ObjectMetaBuilder().withName(pod.getMetadata().getName()).withNamespace(namespace)
        .build());
    return target;
  }

  @Override
  public void close() {
    worker.shutdown();
  }
}
