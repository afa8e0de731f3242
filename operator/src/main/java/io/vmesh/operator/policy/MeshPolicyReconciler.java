package io.vmesh.operator.policy;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.MeshPolicyStatus;
import io.vmesh.operator.api.ProxyCounts;
import io.vmesh.operator.inject.InjectionStatus;
import io.vmesh.operator.selection.LivePods;
import io.vmesh.operator.status.ConditionTypes;
import io.vmesh.operator.status.Conditions;
import io.vmesh.operator.status.StatusComparison;
import io.vmesh.operator.status.StatusReport;
import io.vmesh.operator.status.TransitionEvents;
import io.vmesh.operator.validation.SpecValidator;
import io.vmesh.operator.xds.ProxyId;
import io.vmesh.operator.xds.SyncState;
import io.vmesh.operator.xds.SyncStatus;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reports, for each MeshPolicy, whether it is valid, whether it wins precedence, and whether its routes resolve. */
// generation-unaware: pods and Services change the outcome without changing the policy's generation
@ControllerConfiguration(name = "meshpolicy", generationAwareEventProcessing = false)
public class MeshPolicyReconciler implements Reconciler<MeshPolicy> {

  private static final Logger LOG = LoggerFactory.getLogger(MeshPolicyReconciler.class);
  static final String PODS = "pods";
  static final String SERVICES = "services";
  static final String PEERS = "peer-policies";

  private final Clock clock;
  private final StatusReport<MeshPolicy, MeshPolicyStatus> report;
  private final String operatorNamespace;
  private final SyncStatus sync;

  /**
   * @param operatorNamespace where a policy without selector is the mesh-wide default
   * @param sync the xDS server's sync state of each proxy, which {@code status.proxies} counts
   */
  public MeshPolicyReconciler(Clock clock, TransitionEvents events, String operatorNamespace, SyncStatus sync) {
    this.clock = clock;
    this.report = new StatusReport<>(events, MeshPolicy::new, status -> status.conditions);
    this.operatorNamespace = operatorNamespace;
    this.sync = sync;
  }

  @Override
  public List<EventSource<?, MeshPolicy>> prepareEventSources(EventSourceContext<MeshPolicy> context) {
    var pods = InformerEventSourceConfiguration.from(Pod.class, MeshPolicy.class)
        .withName(PODS)
        .withSecondaryToPrimaryMapper(pod -> policiesConcernedBy(context, pod.getMetadata().getNamespace()))
        .withOnUpdateFilter((now, before) -> !samePodIdentity(now, before))
        .build();
    var services = InformerEventSourceConfiguration.from(Service.class, MeshPolicy.class)
        .withName(SERVICES)
        .withSecondaryToPrimaryMapper(service -> policiesIn(context, service.getMetadata().getNamespace()))
        .build();
    // precedence is decided among policies: one created, changed or deleted can flip the others
    var peers = InformerEventSourceConfiguration.from(MeshPolicy.class, MeshPolicy.class)
        .withName(PEERS)
        .withSecondaryToPrimaryMapper(policy -> policiesConcernedBy(context, policy.getMetadata().getNamespace()))
        .withOnUpdateFilter((now, before) -> !StatusComparison.same(now.getSpec(), before.getSpec()))
        .build();
    return List.of(new InformerEventSource<>(pods, context), new InformerEventSource<>(services, context),
        new InformerEventSource<>(peers, context),
        new ProxySyncEventSource(sync, proxy -> policiesConcernedBy(context, proxy.namespace())));
  }

  @Override
  public UpdateControl<MeshPolicy> reconcile(MeshPolicy policy, Context<MeshPolicy> context) {
    List<String> violations = SpecValidator.validate(policy.getSpec());
    PolicyPrecedence precedence = precedenceIn(policy.getMetadata().getNamespace(), context);
    List<String> unresolved = BackendRefs.unresolved(policy.getSpec(), policy.getMetadata().getNamespace(), servicesOf(policy, context));
    List<Pod> governed = violations.isEmpty() ? proxiesGovernedBy(policy, precedence, context) : List.of();
    MeshPolicyStatus status = desiredStatus(policy, violations, precedence.conflictOf(policy), unresolved, proxyCounts(governed, sync));
    return report.changed(policy, status);
  }

  @Override
  public ErrorStatusUpdateControl<MeshPolicy> updateErrorStatus(MeshPolicy policy, Context<MeshPolicy> context, Exception e) {
    LOG.warn("reconciling MeshPolicy {}/{} failed", policy.getMetadata().getNamespace(), policy.getMetadata().getName(), e);
    return report.failed(policy, errorStatus(policy, e, clock));
  }

  /** The last known proxy counts, Accepted and ResolvedRefs, with Ready=False saying what failed. */
  static MeshPolicyStatus errorStatus(MeshPolicy policy, Exception e, Clock clock) {
    MeshPolicyStatus previous = policy.getStatus() == null ? new MeshPolicyStatus() : policy.getStatus();
    MeshPolicyStatus status = new MeshPolicyStatus();
    status.observedGeneration = previous.observedGeneration;
    status.proxies = previous.proxies;
    status.conditions = new Conditions(previous.conditions, policy.getMetadata().getGeneration(), clock)
        .keep(ConditionTypes.ACCEPTED)
        .keep(ConditionTypes.RESOLVED_REFS)
        .set(ConditionTypes.READY, false, ConditionTypes.REASON_RECONCILE_ERROR, String.valueOf(e.getMessage()))
        .build();
    return status;
  }

  /**
   * Precedence among the valid policies that can govern the pods of a namespace: that namespace's own and the
   * mesh defaults.
   */
  private PolicyPrecedence precedenceIn(String namespace, Context<MeshPolicy> context) {
    List<MeshPolicy> candidates = Stream.concat(context.getPrimaryCache().list(namespace),
            namespace.equals(operatorNamespace) ? Stream.empty() : context.getPrimaryCache().list(operatorNamespace))
        .filter(p -> SpecValidator.validate(p.getSpec()).isEmpty())
        .toList();
    return new PolicyPrecedence(candidates, pods(context).list(namespace, LivePods::isLive).toList(), operatorNamespace);
  }

  /** Injected pods for which this policy is the one in effect: the sidecars that will receive its configuration. */
  private List<Pod> proxiesGovernedBy(MeshPolicy policy, PolicyPrecedence ownNamespace, Context<MeshPolicy> context) {
    String namespace = policy.getMetadata().getNamespace();
    // the mesh default governs pods of every namespace; any other policy only its own namespace's
    Stream<Pod> candidates = PolicyLevel.of(policy, operatorNamespace) == PolicyLevel.MESH_DEFAULT
        ? pods(context).list(LivePods::isLive)
        : pods(context).list(namespace, LivePods::isLive);
    Map<String, PolicyPrecedence> byNamespace = new HashMap<>(Map.of(namespace, ownNamespace));
    return candidates
        .filter(pod -> InjectionStatus.of(pod).isPresent())
        .filter(pod -> byNamespace.computeIfAbsent(pod.getMetadata().getNamespace(), ns -> precedenceIn(ns, context))
            .effectiveFor(pod)
            .filter(p -> sameResource(p, policy))
            .isPresent())
        .toList();
  }

  private static InformerEventSource<Pod, MeshPolicy> pods(Context<MeshPolicy> context) {
    return (InformerEventSource<Pod, MeshPolicy>) context.eventSourceRetriever().getEventSourceFor(Pod.class, PODS);
  }

  private Map<String, Service> servicesOf(MeshPolicy policy, Context<MeshPolicy> context) {
    InformerEventSource<Service, MeshPolicy> services =
        (InformerEventSource<Service, MeshPolicy>) context.eventSourceRetriever().getEventSourceFor(Service.class, SERVICES);
    return services.list(policy.getMetadata().getNamespace(), s -> true)
        .collect(Collectors.toMap(s -> s.getMetadata().getName(), Function.identity()));
  }

  private MeshPolicyStatus desiredStatus(MeshPolicy policy, List<String> violations, Optional<PolicyPrecedence.Conflict> conflict,
      List<String> unresolved, ProxyCounts proxies) {
    MeshPolicyStatus previous = policy.getStatus();
    Conditions conditions = new Conditions(previous == null ? null : previous.conditions, policy.getMetadata().getGeneration(), clock);
    String acceptedReason;
    String acceptedMessage;
    if (!violations.isEmpty()) {
      acceptedReason = ConditionTypes.REASON_INVALID;
      acceptedMessage = String.join("; ", violations);
    } else if (conflict.isPresent()) {
      acceptedReason = ConditionTypes.REASON_CONFLICTED;
      acceptedMessage = conflict.get().message();
    } else {
      acceptedReason = ConditionTypes.REASON_ACCEPTED;
      acceptedMessage = "";
    }
    boolean accepted = acceptedReason.equals(ConditionTypes.REASON_ACCEPTED);
    conditions.set(ConditionTypes.ACCEPTED, accepted, acceptedReason, acceptedMessage);
    if (unresolved.isEmpty()) {
      conditions.set(ConditionTypes.RESOLVED_REFS, true, ConditionTypes.REASON_RESOLVED_REFS, "");
    } else {
      conditions.set(ConditionTypes.RESOLVED_REFS, false, ConditionTypes.REASON_BACKEND_NOT_FOUND, String.join("; ", unresolved));
    }
    if (!accepted) {
      conditions.set(ConditionTypes.READY, false, acceptedReason, acceptedMessage);
    } else if (!unresolved.isEmpty()) {
      conditions.set(ConditionTypes.READY, false, ConditionTypes.REASON_BACKEND_NOT_FOUND, String.join("; ", unresolved));
    } else {
      conditions.set(ConditionTypes.READY, true, ConditionTypes.REASON_RECONCILED, "in effect for " + proxies.total + " injected pods");
    }
    MeshPolicyStatus status = new MeshPolicyStatus();
    status.observedGeneration = policy.getMetadata().getGeneration();
    status.proxies = proxies;
    status.conditions = conditions.build();
    return status;
  }

  /**
   * The governed proxies by the xDS server's sync state: synced (every type sent was acknowledged), rejected (a type
   * was NACKed) and stale (anything else: a push not acknowledged yet, nothing sent, or not connected).
   */
  static ProxyCounts proxyCounts(List<Pod> governed, SyncStatus sync) {
    ProxyCounts counts = new ProxyCounts();
    counts.total = governed.size();
    counts.synced = 0;
    counts.rejected = 0;
    for (Pod pod : governed) {
      SyncState state = sync.stateOf(new ProxyId(pod.getMetadata().getNamespace(), pod.getMetadata().getName()));
      if (state == SyncState.SYNCED) {
        counts.synced++;
      } else if (state == SyncState.REJECTED) {
        counts.rejected++;
      }
    }
    counts.stale = counts.total - counts.synced - counts.rejected;
    counts.summary = counts.synced + "/" + counts.total;
    return counts;
  }

  private static boolean sameResource(MeshPolicy a, MeshPolicy b) {
    return a.getMetadata().getName().equals(b.getMetadata().getName())
        && a.getMetadata().getNamespace().equals(b.getMetadata().getNamespace());
  }

  /** Only labels, annotations and liveness matter for precedence and counts; skip status-only pod churn. */
  private static boolean samePodIdentity(Pod now, Pod before) {
    return Objects.equals(now.getMetadata().getLabels(), before.getMetadata().getLabels())
        && Objects.equals(now.getMetadata().getAnnotations(), before.getMetadata().getAnnotations())
        && LivePods.isLive(now) == LivePods.isLive(before);
  }

  private Set<ResourceID> policiesConcernedBy(EventSourceContext<MeshPolicy> context, String namespace) {
    // the mesh defaults count pods of every namespace, and their precedence depends on every namespace's policies
    return Stream.concat(context.getPrimaryCache().list(namespace), context.getPrimaryCache().list(operatorNamespace))
        .map(ResourceID::fromResource)
        .collect(Collectors.toSet());
  }

  private static Set<ResourceID> policiesIn(EventSourceContext<MeshPolicy> context, String namespace) {
    return context.getPrimaryCache().list(namespace).map(ResourceID::fromResource).collect(Collectors.toSet());
  }
}
