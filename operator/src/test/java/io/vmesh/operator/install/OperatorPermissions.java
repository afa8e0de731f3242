package io.vmesh.operator.install;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.vmesh.operator.capture.TrafficCaptureReconciler;
import io.vmesh.operator.policy.MeshPolicyReconciler;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The documented list of what the operator's code calls on the API server, one grant per (scope, group,
 * resource, verb), and the same flattening of RBAC objects so that the two compare exactly.
 */
final class OperatorPermissions {

  /** cluster-wide, or in the operator's own namespace. */
  static final String CLUSTER = "cluster";

  /** The reconcilers RunCommand registers; each one's primary resource is read from its type. */
  static final List<Class<? extends Reconciler<?>>> RECONCILERS =
      List.of(TrafficCaptureReconciler.class, MeshPolicyReconciler.class);

  record Grant(String scope, String group, String resource, String verb) implements Comparable<Grant> {
    @Override
    public int compareTo(Grant o) {
      return toString().compareTo(o.toString());
    }
  }

  private OperatorPermissions() {
  }

  /** What the code uses; docs/install.md gives the same list with the reason for each line. */
  static Set<Grant> required(String operatorNamespace) {
    Set<Grant> grants = new TreeSet<>();
    for (Class<? extends Reconciler<?>> reconciler : RECONCILERS) {
      Class<? extends HasMetadata> primary = primaryOf(reconciler);
      String group = HasMetadata.getGroup(primary);
      String plural = HasMetadata.getPlural(primary);
      // the primary informer plus the peers' informer of each reconciler
      add(grants, CLUSTER, group, plural, "get", "list", "watch");
      // StatusReport: UpdateControl.patchStatus with SSA off is a JSON merge patch on /status
      add(grants, CLUSTER, group, plural + "/status", "patch");
    }
    // the secondary informers of both reconcilers (prepareEventSources)
    add(grants, CLUSTER, HasMetadata.getGroup(Pod.class), HasMetadata.getPlural(Pod.class), "get", "list", "watch");
    add(grants, CLUSTER, HasMetadata.getGroup(Service.class), HasMetadata.getPlural(Service.class), "get", "list", "watch");
    // ClusterStateSnapshotSource: informers on EndpointSlices (and on pods, services and both CRDs, granted above)
    add(grants, CLUSTER, HasMetadata.getGroup(EndpointSlice.class), HasMetadata.getPlural(EndpointSlice.class), "get", "list", "watch");
    // TransitionEvents: events().resource(event).create() in the resource's namespace
    add(grants, CLUSTER, "", "events", "create");
    // JOSDK leader election (fabric8 LeaseLock): get, create, then update to renew or take over
    add(grants, operatorNamespace, "coordination.k8s.io", "leases", "get", "create", "update");
    // CachedInjectionContext: client.namespaces().inform()
    add(grants, CLUSTER, "", "namespaces", "get", "list", "watch");
    // WebhookTls: the certificate Secret (get, then create or update) in the operator's namespace
    add(grants, operatorNamespace, "", "secrets", "get", "create", "update");
    // WebhookTls: the MutatingWebhookConfiguration (get, then create or update)
    add(grants, CLUSTER, "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "get", "create", "update");
    // CaRootConfigMaps: an informer on its ConfigMaps, then get and create or update in each injection-enabled namespace
    add(grants, CLUSTER, "", "configmaps", "get", "list", "watch", "create", "update");
    // TokenReviewAuthenticator: each proxy's token is reviewed by the API server (pods come from the informer above)
    add(grants, CLUSTER, "authentication.k8s.io", "tokenreviews", "create");
    return grants;
  }

  static Class<? extends HasMetadata> primaryOf(Class<?> reconciler) {
    for (Type type : reconciler.getGenericInterfaces()) {
      if (type instanceof ParameterizedType p && p.getRawType() == Reconciler.class) {
        return ((Class<?>) p.getActualTypeArguments()[0]).asSubclass(HasMetadata.class);
      }
    }
    throw new AssertionError(reconciler + " does not implement Reconciler<T> directly");
  }

  /** The grants a ServiceAccount gets from the bindings that name it. */
  static Set<Grant> granted(List<HasMetadata> objects, String account, String accountNamespace) {
    Set<Grant> grants = new TreeSet<>();
    for (HasMetadata o : objects) {
      if (o instanceof ClusterRoleBinding b && names(b.getSubjects(), account, accountNamespace)) {
        ClusterRole role = find(objects, ClusterRole.class, b.getRoleRef().getName(), null);
        flatten(grants, CLUSTER, role.getRules());
      } else if (o instanceof RoleBinding b && names(b.getSubjects(), account, accountNamespace)) {
        String ns = b.getMetadata().getNamespace();
        List<PolicyRule> rules = "ClusterRole".equals(b.getRoleRef().getKind())
            ? find(objects, ClusterRole.class, b.getRoleRef().getName(), null).getRules()
            : find(objects, Role.class, b.getRoleRef().getName(), ns).getRules();
        flatten(grants, ns, rules);
      }
    }
    return grants;
  }

  static Set<Grant> flatten(String scope, List<PolicyRule> rules) {
    Set<Grant> grants = new TreeSet<>();
    flatten(grants, scope, rules);
    return grants;
  }

  private static void flatten(Set<Grant> grants, String scope, List<PolicyRule> rules) {
    for (PolicyRule rule : rules) {
      if (rule.getResourceNames() != null && !rule.getResourceNames().isEmpty()) {
        throw new AssertionError("resourceNames are not modelled here; extend OperatorPermissions first: " + rule);
      }
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          for (String verb : rule.getVerbs()) {
            grants.add(new Grant(scope, group, resource, verb));
          }
        }
      }
    }
  }

  private static boolean names(List<Subject> subjects, String account, String namespace) {
    return subjects.stream().anyMatch(s -> "ServiceAccount".equals(s.getKind()) && account.equals(s.getName())
        && namespace.equals(s.getNamespace()));
  }

  private static <T extends HasMetadata> T find(List<HasMetadata> objects, Class<T> type, String name, String namespace) {
    List<T> found = new ArrayList<>();
    for (HasMetadata o : objects) {
      if (type.isInstance(o) && name.equals(o.getMetadata().getName())
          && (namespace == null || namespace.equals(o.getMetadata().getNamespace()))) {
        found.add(type.cast(o));
      }
    }
    if (found.size() != 1) {
      throw new AssertionError("a binding refers to " + type.getSimpleName() + " " + name + ", found " + found.size());
    }
    return found.get(0);
  }

  private static void add(Set<Grant> grants, String scope, String group, String resource, String... verbs) {
    for (String verb : verbs) {
      grants.add(new Grant(scope, group, resource, verb));
    }
  }
}
