package io.vmesh.apiserver.discovery;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** The built-in resource types this server announces, with the short names and categories Kubernetes gives them. */
final class BuiltInResources {

  private static final List<ApiResource> ALL = new ArrayList<>();
  /** Kinds whose status Kubernetes writes through a {@code /status} subresource. */
  private static final Set<String> WITH_STATUS = Set.of("Namespace", "Node", "PersistentVolumeClaim",
      "PersistentVolume", "Pod", "ReplicationController", "ResourceQuota", "Service", "DaemonSet", "Deployment",
      "ReplicaSet", "StatefulSet", "CronJob", "Job", "PodDisruptionBudget", "CustomResourceDefinition");

  static {
    // group, version, plural, kind, namespaced, "shortNames", "categories"
    add("", "v1", "configmaps", "ConfigMap", true, "cm", "");
    add("", "v1", "endpoints", "Endpoints", true, "ep", "");
    add("", "v1", "events", "Event", true, "ev", "");
    add("", "v1", "limitranges", "LimitRange", true, "limits", "");
    add("", "v1", "namespaces", "Namespace", false, "ns", "");
    add("", "v1", "nodes", "Node", false, "no", "");
    add("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, "pvc", "");
    add("", "v1", "persistentvolumes", "PersistentVolume", false, "pv", "");
    add("", "v1", "pods", "Pod", true, "po", "all");
    add("", "v1", "podtemplates", "PodTemplate", true, "", "");
    add("", "v1", "replicationcontrollers", "ReplicationController", true, "rc", "all");
    add("", "v1", "resourcequotas", "ResourceQuota", true, "quota", "");
    add("", "v1", "secrets", "Secret", true, "", "");
    add("", "v1", "serviceaccounts", "ServiceAccount", true, "sa", "");
    add("", "v1", "services", "Service", true, "svc", "all");
    add("apps", "v1", "controllerrevisions", "ControllerRevision", true, "", "");
    add("apps", "v1", "daemonsets", "DaemonSet", true, "ds", "all");
    add("apps", "v1", "deployments", "Deployment", true, "deploy", "all");
    add("apps", "v1", "replicasets", "ReplicaSet", true, "rs", "all");
    add("apps", "v1", "statefulsets", "StatefulSet", true, "sts", "all");
    add("batch", "v1", "cronjobs", "CronJob", true, "cj", "all");
    add("batch", "v1", "jobs", "Job", true, "", "all");
    add("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true, "", "");
    add("coordination.k8s.io", "v1", "leases", "Lease", true, "", "");
    add("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false, "", "");
    add("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false,
        "", "api-extensions");
    add("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration",
        false, "", "api-extensions");
    add("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, "crd,crds",
        "api-extensions");
    add("events.k8s.io", "v1", "events", "Event", true, "ev", "");
    add("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false, "", "");
    add("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false, "", "");
    add("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true, "", "");
    add("rbac.authorization.k8s.io", "v1", "roles", "Role", true, "", "");
    add("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true, "netpol", "");
    add("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, "pdb", "");
  }

  private BuiltInResources() {
  }

  private static void add(String group, String version, String plural, String kind, boolean namespaced,
      String shortNames, String categories) {
    ALL.add(new ApiResource(group, version, plural, kind.toLowerCase(), kind, namespaced, split(shortNames),
        split(categories), WITH_STATUS.contains(kind)));
  }

  private static List<String> split(String commaSeparated) {
    return commaSeparated.isEmpty() ? List.of() : Arrays.asList(commaSeparated.split(","));
  }

  static List<ApiResource> all() {
    return ALL;
  }
}
