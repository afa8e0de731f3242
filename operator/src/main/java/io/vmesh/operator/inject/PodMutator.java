package io.vmesh.operator.inject;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The RFC 6902 patch that injects a pod: strip what an earlier injection listed in {@code vmesh.io/status}, then add
 * vmesh-init (first init container), vmesh-proxy (second init container when native, else first container), the
 * proxy's projected token volume and its xDS CA volume, the status annotation and the {@code vmesh.io/injected} label. Explicit operations, so the webhook's answer can be read.
 */
public final class PodMutator {

  private PodMutator() {
  }

  /** The patch for a pod the decision injects. */
  public static List<PatchOperation> patch(Pod pod, InjectionDecision decision, InjectionSettings settings) {
    if (!decision.injects()) {
      throw new IllegalArgumentException("the decision was " + decision.reason() + ", not " + InjectionDecision.INJECTED);
    }
    PodSpec spec = pod.getSpec() == null ? new PodSpec() : pod.getSpec();
    Optional<InjectionStatus> previous = InjectionStatus.of(pod);
    List<PatchOperation> ops = new ArrayList<>();
    List<Container> inits = remaining(spec.getInitContainers(), previous.map(InjectionStatus::initContainers).orElse(List.of()),
        "/spec/initContainers", ops);
    remaining(spec.getContainers(), previous.map(InjectionStatus::containers).orElse(List.of()), "/spec/containers", ops);

    var captureSpec = decision.capture().getSpec();
    Container init = SidecarContainers.init(decision.args(), captureSpec, settings);
    Container proxy = SidecarContainers.proxy(captureSpec, settings, decision.nativeSidecar());
    List<Container> front = decision.nativeSidecar() ? List.of(init, proxy) : List.of(init);
    if (isEmpty(spec.getInitContainers())) {
      ops.add(PatchOperation.add("/spec/initContainers", front));
    } else {
      for (int i = 0; i < front.size(); i++) {
        ops.add(PatchOperation.add("/spec/initContainers/" + i, front.get(i)));
      }
    }
    if (!decision.nativeSidecar()) {
      ops.add(isEmpty(spec.getContainers()) ? PatchOperation.add("/spec/containers", List.of(proxy))
          : PatchOperation.add("/spec/containers/0", proxy));
    }
    // the proxy's volumes by their names: those a previous injection left are replaced, never doubled
    List<Volume> volumes = spec.getVolumes() == null ? List.of() : spec.getVolumes();
    List<String> ours = List.of(SidecarContainers.TOKEN_VOLUME, SidecarContainers.CA_VOLUME);
    for (int i = volumes.size() - 1; i >= 0; i--) {
      if (ours.contains(volumes.get(i).getName())) {
        ops.add(PatchOperation.remove("/spec/volumes/" + i));
      }
    }
    List<Volume> added = settings.xdsTls() ? List.of(SidecarContainers.tokenVolume(), SidecarContainers.caVolume(settings))
        : List.of(SidecarContainers.tokenVolume());
    if (volumes.isEmpty()) {
      ops.add(PatchOperation.add("/spec/volumes", added));
    } else {
      added.forEach(v -> ops.add(PatchOperation.add("/spec/volumes/-", v)));
    }
    InjectionStatus status = new InjectionStatus(decision.capture().getMetadata().getName(), SpecHash.of(captureSpec),
        front.stream().map(Container::getName).toList(), decision.nativeSidecar() ? List.of() : List.of(proxy.getName()));
    Map<String, String> annotations = pod.getMetadata() == null ? null : pod.getMetadata().getAnnotations();
    Map<String, String> labels = pod.getMetadata() == null ? null : pod.getMetadata().getLabels();
    ops.add(member("/metadata/annotations", annotations, InjectionStatus.ANNOTATION, status.toJson()));
    ops.add(member("/metadata/labels", labels, InjectionStatus.INJECTED_LABEL, "true"));
    return List.copyOf(ops);
  }

  /** The pod's own containers, init containers first: what is left after removing what an earlier injection added. */
  public static List<Container> userContainers(Pod pod) {
    PodSpec spec = pod.getSpec() == null ? new PodSpec() : pod.getSpec();
    Optional<InjectionStatus> previous = InjectionStatus.of(pod);
    List<Container> all = new ArrayList<>(remaining(spec.getInitContainers(),
        previous.map(InjectionStatus::initContainers).orElse(List.of()), "", new ArrayList<>()));
    all.addAll(remaining(spec.getContainers(), previous.map(InjectionStatus::containers).orElse(List.of()), "", new ArrayList<>()));
    return all;
  }

  /** Removes, last index first so earlier indexes stay valid, the containers named in {@code injected}. */
  private static List<Container> remaining(List<Container> containers, List<String> injected, String path, List<PatchOperation> ops) {
    List<Container> kept = new ArrayList<>();
    if (containers == null) {
      return kept;
    }
    List<String> names = injected == null ? List.of() : injected;
    for (int i = containers.size() - 1; i >= 0; i--) {
      if (names.contains(containers.get(i).getName())) {
        ops.add(PatchOperation.remove(path + "/" + i));
      } else {
        kept.add(0, containers.get(i));
      }
    }
    return kept;
  }

  /** fabric8 reads an absent list as empty and writes an empty one as absent: both mean "add the whole array". */
  private static boolean isEmpty(List<?> list) {
    return list == null || list.isEmpty();
  }

  private static PatchOperation member(String mapPath, Map<String, String> current, String key, String value) {
    // RFC 6902 "add" on an object member replaces it, so a re-injection overwrites the old status
    return current == null || current.isEmpty() ? PatchOperation.add(mapPath, Map.of(key, value)) : PatchOperation.add(mapPath + "/" + PatchOperation.escape(key), value);
  }
}
