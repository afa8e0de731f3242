package io.vmesh.operator.inject;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.vmesh.operator.api.NativeSidecar;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.selection.LabelSelectorMatcher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Whether a pod gets the sidecar, as a pure function of the pod, its namespace, the namespace's TrafficCaptures
 * and the operator's settings. {@link Outcome#SKIP} admits the pod unchanged; {@link Outcome#REFUSE} means the pod
 * asked for something that cannot work (its creation is denied with {@link #message()}).
 *
 * @param outcome inject, skip or refuse
 * @param reason CamelCase reason, as in Events
 * @param message for people
 * @param capture the matching TrafficCapture (null unless exactly one matched)
 * @param args the vmesh-init arguments (only when injecting)
 * @param nativeSidecar whether the proxy goes to initContainers with restartPolicy Always (only when injecting)
 */
public record InjectionDecision(Outcome outcome, String reason, String message, TrafficCapture capture, CaptureArgs args, boolean nativeSidecar) {

  /** What happens to the pod. */
  public enum Outcome { INJECT, SKIP, REFUSE }

  public static final String INJECTED = "Injected";
  public static final String HOST_NETWORK = "HostNetwork";
  public static final String SYSTEM_NAMESPACE = "SystemNamespace";
  public static final String NAMESPACE_NOT_ENABLED = "NamespaceNotEnabled";
  /** The namespace opt-in: the webhook configuration selects on it, and the decision checks it too (see below). */
  public static final String NAMESPACE_LABEL = "vmesh.io/injection";
  public static final String NAMESPACE_ENABLED = "enabled";
  public static final String OPTED_OUT = "OptedOut";
  public static final String NO_MATCHING_CAPTURE = "NoMatchingCapture";
  public static final String CONFLICTING_CAPTURES = "ConflictingCaptures";
  public static final String INVALID_ANNOTATION = "InvalidAnnotation";
  public static final String PORT_COLLISION = "PortCollision";
  public static final String PROXY_UID_COLLISION = "ProxyUidCollision";

  public static InjectionDecision decide(Pod pod, Namespace namespace, List<TrafficCapture> captures, InjectionSettings settings) {
    PodSpec spec = pod.getSpec() == null ? new PodSpec() : pod.getSpec();
    String ns = namespace.getMetadata().getName();
    if (Boolean.TRUE.equals(spec.getHostNetwork())) {
      return skip(HOST_NETWORK, "the pod uses the node's network (hostNetwork: true); capturing it would capture the node");
    }
    if (settings.systemNamespaces().contains(ns)) {
      return skip(SYSTEM_NAMESPACE, "namespace " + ns + " is a system namespace and is never injected");
    }
    // The webhook configuration we write selects only labelled namespaces, but under OLM the configuration comes from
    // the CSV's webhookdefinitions, which cannot carry a namespaceSelector (OLM sets it to the OperatorGroup's targets):
    // the opt-in must hold whoever wrote the configuration.
    Map<String, String> nsLabels = namespace.getMetadata().getLabels();
    if (nsLabels == null || !NAMESPACE_ENABLED.equals(nsLabels.get(NAMESPACE_LABEL))) {
      return skip(NAMESPACE_NOT_ENABLED, "namespace " + ns + " is not labelled " + NAMESPACE_LABEL + "=" + NAMESPACE_ENABLED);
    }
    if (InjectionStatus.optedOut(pod)) {
      return skip(OPTED_OUT, "the pod carries " + InjectionStatus.INJECT_ANNOTATION + ": \"false\" (label or annotation)");
    }
    Map<String, String> labels = pod.getMetadata() == null ? null : pod.getMetadata().getLabels();
    List<TrafficCapture> matching = captures.stream()
        .filter(c -> ns.equals(c.getMetadata().getNamespace()))
        .filter(c -> c.getMetadata().getDeletionTimestamp() == null)
        .filter(c -> LabelSelectorMatcher.matches(c.getSpec() == null ? null : c.getSpec().selector, labels))
        .sorted(Comparator.comparing(c -> c.getMetadata().getName()))
        .toList();
    if (matching.isEmpty()) {
      return skip(NO_MATCHING_CAPTURE, "no TrafficCapture in namespace " + ns + " selects the pod's labels " + (labels == null ? "{}" : labels));
    }
    if (matching.size() > 1) {
      return skip(CONFLICTING_CAPTURES, "TrafficCaptures " + matching.stream().map(c -> c.getMetadata().getName()).toList()
          + " all select the pod; make their selectors disjoint");
    }
    TrafficCapture capture = matching.get(0);
    CaptureArgs args;
    try {
      args = CaptureArgs.of(capture.getSpec(), pod.getMetadata().getAnnotations());
    } catch (IllegalArgumentException e) {
      return refuse(INVALID_ANNOTATION, e.getMessage());
    }
    List<Container> own = PodMutator.userContainers(pod);
    String collision = portCollision(own);
    if (collision != null) {
      return refuse(PORT_COLLISION, collision);
    }
    String uidCollision = uidCollision(spec.getSecurityContext(), own, args.proxyUid());
    if (uidCollision != null) {
      return refuse(PROXY_UID_COLLISION, uidCollision);
    }
    NativeSidecar mode = capture.getSpec() == null || capture.getSpec().proxy == null || capture.getSpec().proxy.nativeSidecar == null
        ? NativeSidecar.Auto : capture.getSpec().proxy.nativeSidecar;
    boolean nativeSidecar = mode == NativeSidecar.Enabled || (mode == NativeSidecar.Auto && settings.clusterHasNativeSidecars());
    String how = nativeSidecar ? "as a native sidecar" : "as the first container";
    return new InjectionDecision(Outcome.INJECT, INJECTED, "TrafficCapture " + capture.getMetadata().getName() + " selects the pod; the proxy runs "
        + how + " (nativeSidecar " + mode + ", cluster " + settings.clusterVersion() + ")", capture, args, nativeSidecar);
  }

  public boolean injects() {
    return outcome == Outcome.INJECT;
  }

  private static InjectionDecision skip(String reason, String message) {
    return new InjectionDecision(Outcome.SKIP, reason, message, null, null, false);
  }

  private static InjectionDecision refuse(String reason, String message) {
    return new InjectionDecision(Outcome.REFUSE, reason, message, null, null, false);
  }

  private static String portCollision(List<Container> containers) {
    List<String> clashes = new ArrayList<>();
    for (Container c : containers) {
      for (ContainerPort p : c.getPorts() == null ? List.<ContainerPort>of() : c.getPorts()) {
        if (p.getContainerPort() != null && ProxyPorts.ALL.contains(p.getContainerPort())) {
          clashes.add("container " + c.getName() + " port " + p.getContainerPort());
        }
      }
    }
    return clashes.isEmpty() ? null
        : String.join(", ", clashes) + ": the proxy uses the ports " + ProxyPorts.ALL + "; move the application to another port";
  }

  private static String uidCollision(PodSecurityContext podContext, List<Container> containers, int proxyUid) {
    Long podUid = podContext == null ? null : podContext.getRunAsUser();
    List<String> clashes = new ArrayList<>();
    for (Container c : containers) {
      SecurityContext sc = c.getSecurityContext();
      Long uid = sc != null && sc.getRunAsUser() != null ? sc.getRunAsUser() : podUid;
      if (uid != null && uid == proxyUid) {
        clashes.add(c.getName());
      }
    }
    return clashes.isEmpty() ? null
        : "containers " + clashes + " run as uid " + proxyUid + ", the proxy's uid, whose traffic is never captured; "
            + "run them as another uid or set spec.proxy.uid of the TrafficCapture";
  }
}
