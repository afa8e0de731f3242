package io.vmesh.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Projected ServiceAccount tokens. The kubelet would ask the API server for a token (TokenRequest) and mount it
 * at the volume's path; this sandbox has no mount namespaces for containers, so no file can appear at a
 * container's mount path without touching the machine's own filesystem. It asks for the token, so a pod whose
 * token cannot be issued says why in the log, and says that the token is not mounted.
 */
final class ServiceAccountTokens {

  private static final Logger LOG = LoggerFactory.getLogger(ServiceAccountTokens.class);

  private ServiceAccountTokens() {
  }

  static void mountIfRequested(Pod pod, KubernetesClient client) {
    if (pod.getSpec().getVolumes() == null) {
      return;
    }
    for (Volume v : pod.getSpec().getVolumes()) {
      if (v.getProjected() == null || v.getProjected().getSources() == null) {
        continue;
      }
      for (VolumeProjection source : v.getProjected().getSources()) {
        if (source.getServiceAccountToken() == null) {
          continue;
        }
        String ns = pod.getMetadata().getNamespace();
        String sa = ContainerEnv.serviceAccount(pod);
        String body = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenRequest\",\"spec\":{\"audiences\":["
            + (source.getServiceAccountToken().getAudience() == null ? "" : "\"" + source.getServiceAccountToken().getAudience() + "\"")
            + "],\"expirationSeconds\":" + (source.getServiceAccountToken().getExpirationSeconds() == null ? 3600
            : source.getServiceAccountToken().getExpirationSeconds()) + "}}";
        try {
          client.raw(client.getMasterUrl() + "api/v1/namespaces/" + ns + "/serviceaccounts/" + sa + "/token", "POST", body);
          LOG.warn("pod {}/{}: a token for service account {} was issued, but projected volume {} is not mounted at "
              + "its path: the sandbox's containers share the machine's filesystem", ns, pod.getMetadata().getName(), sa, v.getName());
        } catch (KubernetesClientException e) {
          LOG.warn("pod {}/{}: projected serviceAccountToken volume {} is not mounted: the API server did not issue a token "
              + "(TokenRequest POST .../serviceaccounts/{}/token: {})", ns, pod.getMetadata().getName(), v.getName(), sa, e.getMessage());
        }
      }
    }
  }
}
