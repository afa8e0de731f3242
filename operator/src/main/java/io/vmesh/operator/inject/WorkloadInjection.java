package io.vmesh.operator.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.ReplicaSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.zjsonpatch.JsonPatch;
import io.vmesh.operator.api.TrafficCapture;
import java.util.List;
import java.util.Map;

/**
 * Offline injection ({@code vmesh-operator inject}): the same decision and patch as the webhook, applied to a Pod or
 * to the pod template of a workload, so what it prints is what the webhook would make of the pods.
 */
public final class WorkloadInjection {

  /** Kinds with a pod template, and how to reach it. */
  public static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
      "Pod", Pod.class, "Deployment", Deployment.class, "StatefulSet", StatefulSet.class, "DaemonSet", DaemonSet.class,
      "ReplicaSet", ReplicaSet.class, "Job", Job.class, "CronJob", CronJob.class);

  /** Where each workload kind keeps its pod template (JSON pointer). */
  private static final Map<String, String> TEMPLATES = Map.of(
      "Deployment", "/spec/template", "StatefulSet", "/spec/template", "DaemonSet", "/spec/template", "ReplicaSet", "/spec/template",
      "Job", "/spec/template", "CronJob", "/spec/jobTemplate/spec/template");

  private static final ObjectMapper JSON = Serialization.jsonMapper();

  /**
   * @param object the injected object (the input itself when nothing was injected)
   * @param decision why
   */
  public record Result(HasMetadata object, InjectionDecision decision) {
  }

  private WorkloadInjection() {
  }

  /** Decides and injects one object; {@code defaultNamespace} stands in for a missing metadata.namespace. */
  public static Result inject(HasMetadata object, List<TrafficCapture> captures, InjectionSettings settings, String defaultNamespace) {
    String ns = object.getMetadata().getNamespace() == null ? defaultNamespace : object.getMetadata().getNamespace();
    // offline injection is the user's explicit request, like istioctl kube-inject: the namespace counts as enabled
    Namespace namespace = new NamespaceBuilder().withNewMetadata().withName(ns)
        .addToLabels(InjectionDecision.NAMESPACE_LABEL, InjectionDecision.NAMESPACE_ENABLED).endMetadata().build();
    List<TrafficCapture> inNamespace = captures.stream()
        .map(c -> c.getMetadata().getNamespace() == null ? withNamespace(c, ns) : c)
        .toList();
    if (object instanceof Pod pod) {
      Pod withNs = copy(pod, Pod.class);
      withNs.getMetadata().setNamespace(ns);
      InjectionDecision decision = InjectionDecision.decide(withNs, namespace, inNamespace, settings);
      return new Result(decision.injects() ? apply(pod, PodMutator.patch(withNs, decision, settings)) : pod, decision);
    }
    String pointer = TEMPLATES.get(object.getKind());
    ObjectNode tree = JSON.valueToTree(object);
    JsonNode templateNode = pointer == null ? null : tree.at(pointer);
    if (templateNode == null || !templateNode.isObject() || !templateNode.path("spec").isObject()) {
      throw new IllegalArgumentException(object.getKind() + " " + object.getMetadata().getName() + " has no pod template"
          + (pointer == null ? "" : " at " + pointer.replace('/', '.')));
    }
    PodTemplateSpec template = JSON.convertValue(templateNode, PodTemplateSpec.class);
    ObjectMeta meta = template.getMetadata() == null ? new ObjectMeta() : template.getMetadata();
    Pod pod = new Pod("v1", "Pod", meta, template.getSpec(), null);
    meta.setNamespace(ns);
    if (meta.getName() == null) {
      meta.setName(object.getMetadata().getName());
    }
    InjectionDecision decision = InjectionDecision.decide(pod, namespace, inNamespace, settings);
    if (!decision.injects()) {
      return new Result(object, decision);
    }
    Pod injected = apply(pod, PodMutator.patch(pod, decision, settings));
    ObjectNode newTemplate = (ObjectNode) templateNode;
    ObjectNode newMeta = newTemplate.withObjectProperty("metadata");
    newMeta.set("labels", JSON.valueToTree(injected.getMetadata().getLabels()));
    newMeta.set("annotations", JSON.valueToTree(injected.getMetadata().getAnnotations()));
    newTemplate.set("spec", JSON.valueToTree(injected.getSpec()));
    return new Result(JSON.convertValue(tree, object.getClass()), decision);
  }

  /** What {@code inject} prints for one object: the decision as a YAML comment, then the object. */
  public static String render(Result result) {
    HasMetadata o = result.object();
    InjectionDecision d = result.decision();
    String verdict = switch (d.outcome()) {
      case INJECT -> "injected";
      case SKIP -> "not injected";
      case REFUSE -> "refused";
    };
    return "# vmesh: " + o.getKind() + " " + o.getMetadata().getName() + " " + verdict + " (" + d.reason() + "): " + d.message() + "\n"
        + Manifests.yaml(o);
  }

  /** Why the object would or would not be injected, and with which capture arguments. */
  public static String explain(Result result) {
    HasMetadata o = result.object();
    InjectionDecision d = result.decision();
    StringBuilder b = new StringBuilder();
    b.append(o.getKind()).append(' ').append(o.getMetadata().getName()).append(": ").append(d.outcome().name().toLowerCase(java.util.Locale.ROOT))
        .append(" (").append(d.reason()).append(")\n  ").append(d.message()).append('\n');
    if (d.injects()) {
      b.append("  vmesh-init: vmesh-proxy capture ").append(String.join(" ", d.args().toArgs())).append('\n');
      b.append("  vmesh-proxy: ").append(d.nativeSidecar() ? "initContainers[1], restartPolicy Always" : "containers[0]").append('\n');
    }
    return b.toString();
  }

  /** Applies an RFC 6902 patch to a pod, the way the API server applies the webhook's answer. */
  public static Pod apply(Pod pod, List<PatchOperation> patch) {
    JsonNode patched = JsonPatch.apply(JSON.valueToTree(patch), JSON.valueToTree(pod));
    return JSON.convertValue(patched, Pod.class);
  }

  private static TrafficCapture withNamespace(TrafficCapture capture, String ns) {
    TrafficCapture c = copy(capture, TrafficCapture.class);
    c.getMetadata().setNamespace(ns);
    return c;
  }

  @SuppressWarnings("unchecked")
  private static <T> T copy(Object o, Class<?> type) {
    ObjectNode tree = JSON.valueToTree(o);
    return (T) JSON.convertValue(tree, type);
  }
}
