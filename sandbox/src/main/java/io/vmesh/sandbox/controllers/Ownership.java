package io.vmesh.sandbox.controllers;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a workload controller (Deployments, Jobs) does with its pods: finds the ones it controls, makes new ones from
 * its pod template with a controller owner reference (a refusal becomes one {@code FailedCreate} Event per distinct
 * message), deletes the pods of owners that are gone (the garbage collector's part), and records Events.
 */
final class Ownership {

  private static final Logger LOG = LoggerFactory.getLogger(Ownership.class);

  private final KubernetesClient client;
  private final String kind;
  private final String component;
  /** The last refusal per owner uid, so that a pod refused again and again makes one Event. */
  private final Map<String, String> lastFailure = new HashMap<>();

  /** For the controller of {@code kind} ({@code Deployment}), recording Events as {@code component}. */
  Ownership(KubernetesClient client, String kind, String component) {
    this.client = client;
    this.kind = kind;
    this.component = component;
  }

  /**
   * One pass: {@code reconcile} each owner with the pods it controls (an error is logged, the others go on), then
   * delete the pods whose owner of this kind is gone.
   */
  <T extends HasMetadata> void sync(List<T> owners, BiConsumer<T, List<Pod>> reconcile) {
    List<Pod> pods = client.pods().inAnyNamespace().list().getItems();
    Set<String> uids = new HashSet<>();
    for (T owner : owners) {
      uids.add(owner.getMetadata().getUid());
      try {
        reconcile.accept(owner, owned(pods, owner.getMetadata().getUid()));
      } catch (KubernetesClientException | IllegalStateException e) {
        LOG.warn("{} {}/{}: {}", kind.toLowerCase(), owner.getMetadata().getNamespace(), owner.getMetadata().getName(), e.getMessage());
      }
    }
    lastFailure.keySet().retainAll(uids);
    for (Pod p : pods) {
      OwnerReference ref = controller(p.getMetadata());
      if (ref != null && kind.equals(ref.getKind()) && !uids.contains(ref.getUid())) {
        LOG.info("pod {}/{}: its {} {} is gone; deleting it", p.getMetadata().getNamespace(), p.getMetadata().getName(),
            kind.toLowerCase(), ref.getName());
        client.pods().inNamespace(p.getMetadata().getNamespace()).withName(p.getMetadata().getName()).delete();
      }
    }
  }

  /**
   * Creates a pod of {@code owner} from {@code template}: named {@code name}, or generated from {@code generateName}
   * when {@code name} is null, with the template's labels plus {@code extraLabels}. Null when the API server refused it.
   */
  Pod create(HasMetadata owner, PodTemplateSpec template, String name, String generateName, Map<String, String> extraLabels) {
    String ns = owner.getMetadata().getNamespace();
    ObjectMeta meta = template.getMetadata() == null ? new ObjectMeta() : template.getMetadata();
    Map<String, String> labels = new HashMap<>(meta.getLabels() == null ? Map.of() : meta.getLabels());
    labels.putAll(extraLabels);
    Pod pod = new PodBuilder()
        .withNewMetadata().withName(name).withGenerateName(name == null ? generateName : null).withNamespace(ns)
        .withLabels(labels)
        .withAnnotations(meta.getAnnotations())
        .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(owner.getApiVersion()).withKind(owner.getKind())
            .withName(owner.getMetadata().getName()).withUid(owner.getMetadata().getUid()).withController(true)
            .withBlockOwnerDeletion(true).build())
        .endMetadata()
        .withSpec(template.getSpec())
        .build();
    try {
      Pod made = client.pods().inNamespace(ns).resource(pod).create();
      lastFailure.remove(owner.getMetadata().getUid());
      LOG.info("{} {}/{}: created pod {}", kind.toLowerCase(), ns, owner.getMetadata().getName(), made.getMetadata().getName());
      return made;
    } catch (KubernetesClientException e) {
      String message = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage() : e.getMessage();
      if (!message.equals(lastFailure.put(owner.getMetadata().getUid(), message))) {
        LOG.warn("{} {}/{}: pod create refused: {}", kind.toLowerCase(), ns, owner.getMetadata().getName(), message);
        event(owner, "Warning", "FailedCreate", "Error creating: " + message);
      }
      return null;
    }
  }

  /** Records an Event on {@code object}, as {@code kubectl describe} shows them; a failure to record is only logged. */
  void event(HasMetadata object, String type, String reason, String message) {
    String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
    try {
      client.v1().events().inNamespace(object.getMetadata().getNamespace()).resource(new EventBuilder()
          .withNewMetadata().withGenerateName(object.getMetadata().getName() + ".").endMetadata()
          .withNewInvolvedObject().withApiVersion(object.getApiVersion()).withKind(object.getKind()).withName(object.getMetadata().getName())
          .withNamespace(object.getMetadata().getNamespace()).withUid(object.getMetadata().getUid()).endInvolvedObject()
          .withType(type).withReason(reason).withMessage(message).withCount(1).withFirstTimestamp(now).withLastTimestamp(now)
          .withNewSource().withComponent(component).endSource().build()).create();
    } catch (KubernetesClientException e) {
      LOG.debug("event not recorded: {}", e.getMessage());
    }
  }

  private static OwnerReference controller(ObjectMeta meta) {
    if (meta.getOwnerReferences() == null) {
      return null;
    }
    return meta.getOwnerReferences().stream().filter(o -> Boolean.TRUE.equals(o.getController())).findFirst().orElse(null);
  }

  private static List<Pod> owned(List<Pod> pods, String uid) {
    List<Pod> owned = new ArrayList<>();
    for (Pod p : pods) {
      OwnerReference o = controller(p.getMetadata());
      if (o != null && uid.equals(o.getUid())) {
        owned.add(p);
      }
    }
    return owned;
  }
}
