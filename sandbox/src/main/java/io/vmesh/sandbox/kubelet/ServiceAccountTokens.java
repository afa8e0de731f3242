package io.vmesh.sandbox.kubelet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.ServiceAccountTokenProjection;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Projected ServiceAccount token volumes, as the kubelet fills them: a TokenRequest bound to the pod (audience and
 * expiry from the projection), the token written to {@code <pod dir>/volumes/<volume>/<path>}, which
 * {@link VolumeMounts} then mounts at each container's mountPath. The token is not rotated (the sandbox's runs
 * are shorter than the minimum expiry, 10 minutes). When the API server does not issue the token, the volume is
 * left out and the log says why.
 */
final class ServiceAccountTokens {

  private static final Logger LOG = LoggerFactory.getLogger(ServiceAccountTokens.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private ServiceAccountTokens() {
  }

  /** The folders of the pod's projected token volumes that could be filled, by volume name. */
  static Map<String, Path> project(Pod pod, KubernetesClient client, Path podDir) {
    Map<String, Path> volumes = new LinkedHashMap<>();
    if (pod.getSpec().getVolumes() == null) {
      return volumes;
    }
    for (Volume v : pod.getSpec().getVolumes()) {
      if (v.getProjected() == null || v.getProjected().getSources() == null) {
        continue;
      }
      for (VolumeProjection source : v.getProjected().getSources()) {
        ServiceAccountTokenProjection projection = source.getServiceAccountToken();
        if (projection == null) {
          continue;
        }
        String ns = pod.getMetadata().getNamespace();
        String sa = ContainerEnv.serviceAccount(pod);
        try {
          String token = request(client, pod, sa, projection);
          Path dir = Files.createDirectories(podDir.resolve("volumes").resolve(v.getName()));
          Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
          Path file = dir.resolve(projection.getPath());
          Files.writeString(file, token);
          Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
          volumes.put(v.getName(), dir);
          LOG.info("pod {}/{}: token of service account {} (audience {}) in volume {}", ns, pod.getMetadata().getName(), sa,
              projection.getAudience(), v.getName());
        } catch (KubernetesClientException | IOException e) {
          LOG.warn("pod {}/{}: projected serviceAccountToken volume {} is not mounted: the API server did not issue a token "
              + "(TokenRequest POST .../serviceaccounts/{}/token: {})", ns, pod.getMetadata().getName(), v.getName(), sa, e.getMessage());
        }
      }
    }
    return volumes;
  }

  private static String request(KubernetesClient client, Pod pod, String sa, ServiceAccountTokenProjection projection) throws IOException {
    ObjectNode body = JSON.createObjectNode().put("apiVersion", "authentication.k8s.io/v1").put("kind", "TokenRequest");
    ObjectNode spec = body.putObject("spec");
    if (projection.getAudience() != null && !projection.getAudience().isEmpty()) {
      spec.putArray("audiences").add(projection.getAudience());
    }
    spec.put("expirationSeconds", projection.getExpirationSeconds() == null ? 3600 : projection.getExpirationSeconds());
    spec.putObject("boundObjectRef").put("apiVersion", "v1").put("kind", "Pod").put("name", pod.getMetadata().getName())
        .put("uid", pod.getMetadata().getUid());
    String answer = client.raw(client.getMasterUrl() + "api/v1/namespaces/" + pod.getMetadata().getNamespace()
        + "/serviceaccounts/" + sa + "/token", "POST", body.toString());
    if (answer == null) {
      throw new IOException("no answer (is TokenRequest served?)");
    }
    JsonNode token = JSON.readTree(answer).path("status").path("token");
    if (!token.isTextual() || token.asText().isEmpty()) {
      throw new IOException("the answer holds no status.token: " + answer);
    }
    return token.asText();
  }
}
