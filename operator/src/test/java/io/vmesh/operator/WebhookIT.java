package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.inject.Manifests;
import io.vmesh.operator.webhook.WebhookCertificates;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator as a process against the embedded API server: it keeps its certificate in a Secret, writes the
 * MutatingWebhookConfiguration with that CA, and its webhook injects a pod, trusted through that caBundle only, and
 * records the decision as an Event on the pod's ReplicaSet.
 */
class WebhookIT {

  private static final Logger LOG = LoggerFactory.getLogger(WebhookIT.class);
  private static final Path REPO = Path.of(System.getProperty("vmesh.repo.dir", ".."));
  private static final ObjectMapper JSON = Serialization.jsonMapper();

  @TempDir
  Path dir;

  @Test
  void theOperatorsWebhookIsTrustedThroughItsOwnCaBundleAndInjects() throws Exception {
    Kubectl.requireOnPath();
    try (JarProcess apiserver = JarProcess.start("apiserver", Path.of(System.getProperty("vmesh.apiserver.jar")), dir, Map.of(),
        "--port", "0", "--kubeconfig-out", dir.resolve("kubeconfig").toString())) {
      apiserver.await(Pattern.compile("vmesh-apiserver ready: "), Duration.ofSeconds(30));
      new Kubectl(dir.resolve("kubeconfig")).ok("apply", "--validate=false", "-f", REPO.resolve("crds").toString());
      try (KubernetesClient client = new KubernetesClientBuilder()
          .withConfig(Config.fromKubeconfig(Files.readString(dir.resolve("kubeconfig")))).build()) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("shop")
            .addToLabels("vmesh.io/injection", "enabled").endMetadata().build()).create();
        String in = Files.readString(Path.of("src/test/resources/inject/in-plain-pod.yaml"));
        TrafficCapture capture = (TrafficCapture) Manifests.read(in, "in-plain-pod.yaml").get(1);
        client.resource(capture).create();

        try (JarProcess operator = JarProcess.start("operator", Path.of(System.getProperty("vmesh.operator.jar")), dir,
            Map.of("KUBECONFIG", dir.resolve("kubeconfig").toString()),
            "run", "--no-leader-election", "--namespace", "vmesh-system", "--health-address", "127.0.0.1", "--health-port", "0",
            "--webhook-address", "127.0.0.1", "--webhook-port", "0",
            "--xds-listen-address", "127.0.0.1", "--xds-port", "0", "--xds-tls-port", "0")) {
          try {
            Matcher started = operator.await(Pattern.compile("injection webhook on https://127.0.0.1:(\\d+)/inject"), Duration.ofSeconds(60));
            scenario(client, Integer.parseInt(started.group(1)), in);
          } catch (Exception | AssertionError e) {
            LOG.error("operator log:\n{}\napiserver log:\n{}", operator.log(), apiserver.log());
            throw e;
          }
        }
      }
    }
  }

  private void scenario(KubernetesClient client, int port, String podYaml) throws Exception {
    MutatingWebhook webhook = client.admissionRegistration().v1().mutatingWebhookConfigurations().withName("vmesh-injector").get()
        .getWebhooks().get(0);
    assertThat(webhook.getFailurePolicy()).isEqualTo("Fail");
    assertThat(webhook.getClientConfig().getService().getName()).isEqualTo("vmesh-webhook");
    String caBundle = new String(Base64.getDecoder().decode(webhook.getClientConfig().getCaBundle()), StandardCharsets.US_ASCII);

    Secret secret = client.secrets().inNamespace("vmesh-system").withName("vmesh-webhook-tls").get();
    assertThat(new String(Base64.getDecoder().decode(secret.getData().get("ca.crt")), StandardCharsets.US_ASCII)).isEqualTo(caBundle);

    HttpClient https = HttpClient.newBuilder().sslContext(WebhookCertificates.clientContext(caBundle)).build();

    ObjectNode pod = JSON.valueToTree(Manifests.read(podYaml, "pod").get(0));
    // as the ReplicaSet controller creates it: generateName and a controller reference, the Event goes to the ReplicaSet
    ((ObjectNode) pod.path("metadata")).remove("name");
    ((ObjectNode) pod.path("metadata")).put("generateName", "web-5d8f7-");
    ((ObjectNode) pod.path("metadata")).putArray("ownerReferences").addObject().put("apiVersion", "apps/v1").put("kind", "ReplicaSet")
        .put("name", "web-5d8f7").put("uid", "0b1c").put("controller", true);
    String review = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"it-1\","
        + "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},\"namespace\":\"shop\",\"operation\":\"CREATE\",\"object\":" + pod + "}}";
    HttpResponse<String> response = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/inject"))
        .POST(HttpRequest.BodyPublishers.ofString(review)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode answer = JSON.readTree(response.body()).path("response");
    assertThat(answer.path("allowed").asBoolean()).isTrue();
    String patch = new String(Base64.getDecoder().decode(answer.path("patch").asText()), StandardCharsets.UTF_8);
    assertThat(patch).contains("vmesh-init").contains("vmesh-proxy").contains("\\\"capture\\\":\\\"web\\\"");

    Instant deadline = Instant.now().plusSeconds(20);
    List<Event> injected = List.of();
    while (injected.isEmpty() && Instant.now().isBefore(deadline)) {
      injected = client.v1().events().inNamespace("shop").list().getItems().stream().filter(e -> "Injected".equals(e.getReason())).toList();
      Thread.sleep(200);
    }
    assertThat(injected).singleElement().satisfies(e -> {
      assertThat(e.getInvolvedObject().getKind()).isEqualTo("ReplicaSet");
      assertThat(e.getInvolvedObject().getName()).isEqualTo("web-5d8f7");
      assertThat(e.getMessage()).startsWith("pod web-5d8f7-*: Injected: TrafficCapture web selects the pod");
    });
  }
}
