package io.vmesh.operator.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.vertx.core.Vertx;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.inject.AdmissionHandler;
import io.vmesh.operator.inject.InjectionContext;
import io.vmesh.operator.inject.InjectionSettings;
import io.vmesh.operator.inject.Manifests;
import io.vmesh.operator.inject.PatchOperation;
import io.vmesh.operator.inject.WorkloadInjection;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The webhook over real HTTPS on loopback, with AdmissionReview JSON as the API server sends it. */
class WebhookServerTest {

  static final Path DIR = Path.of("src/test/resources/inject");
  static final ObjectMapper JSON = Serialization.jsonMapper();
  static final List<String> NAMES = List.of("localhost", "127.0.0.1");

  static Vertx vertx;
  static WebhookServer server;
  static WebhookCertificates certs;
  static final List<AdmissionHandler.Decided> decided = new CopyOnWriteArrayList<>();
  static List<TrafficCapture> captures;

  @BeforeAll
  static void start() throws Exception {
    captures = Manifests.read(Files.readString(DIR.resolve("in-plain-pod.yaml")), "in-plain-pod.yaml").stream()
        .filter(TrafficCapture.class::isInstance).map(TrafficCapture.class::cast).toList();
    InjectionSettings settings = InjectionSettings.of(InjectionSettings.DEFAULT_IMAGE, InjectionSettings.DEFAULT_XDS_ADDRESS, "1.30",
        InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);
    InjectionContext context = new InjectionContext() {
      @Override
      public Optional<Namespace> namespace(String name) {
        return Optional.empty();
      }

      @Override
      public List<TrafficCapture> captures(String namespace) {
        return captures.stream().filter(c -> namespace.equals(c.getMetadata().getNamespace())).toList();
      }

      @Override
      public InjectionSettings settings() {
        return settings;
      }
    };
    certs = WebhookCertificates.issue(NAMES, Clock.systemUTC());
    vertx = Vertx.vertx();
    server = new WebhookServer(vertx, new AdmissionHandler(context, decided::add))
        .start("127.0.0.1", 0, certs.serving()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    server.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  static HttpClient client(WebhookCertificates trusted) {
    SSLContext ssl = WebhookCertificates.clientContext(trusted.caCertPem());
    return HttpClient.newBuilder().sslContext(ssl).connectTimeout(Duration.ofSeconds(30)).build();
  }

  static HttpResponse<String> post(HttpClient client, String path, String body) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + server.port() + path))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** An AdmissionReview as the API server sends it for a pod CREATE. */
  static String review(String uid, HasMetadata object, String kind, String group, boolean dryRun) {
    ObjectNode review = JSON.createObjectNode().put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request").put("uid", uid).put("namespace", "shop").put("operation", "CREATE").put("dryRun", dryRun);
    request.putObject("kind").put("group", group).put("version", "v1").put("kind", kind);
    request.putObject("resource").put("group", group).put("version", "v1").put("resource", kind.toLowerCase() + "s");
    request.putObject("userInfo").put("username", "system:serviceaccount:kube-system:replicaset-controller");
    request.set("object", JSON.valueToTree(object));
    request.putNull("oldObject");
    return review.toString();
  }

  static Pod pod(String file) throws Exception {
    return (Pod) Manifests.read(Files.readString(DIR.resolve(file)), file).get(0);
  }

  @Test
  void injectsAPodWithAJsonPatchThatGivesTheGoldenPod() throws Exception {
    Pod pod = pod("in-plain-pod.yaml");
    pod.getMetadata().setNamespace(null);
    HttpResponse<String> response = post(client(certs), "/inject", review("1b8e-42", pod, "Pod", "", false));
    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode answer = JSON.readTree(response.body());
    assertThat(answer.path("apiVersion").asText()).isEqualTo("admission.k8s.io/v1");
    assertThat(answer.path("kind").asText()).isEqualTo("AdmissionReview");
    assertThat(answer.at("/response/uid").asText()).isEqualTo("1b8e-42");
    assertThat(answer.at("/response/allowed").asBoolean()).isTrue();
    assertThat(answer.at("/response/patchType").asText()).isEqualTo("JSONPatch");

    List<PatchOperation> patch = List.of(JSON.readValue(Base64.getDecoder().decode(answer.at("/response/patch").asText()), PatchOperation[].class));
    Pod injected = WorkloadInjection.apply(pod, patch);
    injected.getMetadata().setNamespace("shop");
    String golden = Files.readString(DIR.resolve("out-plain-pod.yaml"));
    assertThat(Manifests.yaml(injected)).isEqualTo(golden.substring(golden.indexOf('\n') + 1));
    assertThat(decided).anySatisfy(d -> assertThat(d.pod().getMetadata().getName()).isEqualTo("web"));
  }

  @Test
  void aDryRunIsPatchedButNotRecorded() throws Exception {
    Pod pod = pod("in-plain-pod.yaml");
    pod.getMetadata().setName("dry");
    HttpResponse<String> response = post(client(certs), "/inject", review("dry-1", pod, "Pod", "", true));
    assertThat(JSON.readTree(response.body()).at("/response/patchType").asText()).isEqualTo("JSONPatch");
    assertThat(decided).noneSatisfy(d -> assertThat(d.pod().getMetadata().getName()).isEqualTo("dry"));
  }

  @Test
  void aRefusedPodIsDeniedWithTheReason() throws Exception {
    HttpResponse<String> response = post(client(certs), "/inject", review("no-2", pod("in-port-collision.yaml"), "Pod", "", false));
    JsonNode answer = JSON.readTree(response.body());
    assertThat(answer.at("/response/allowed").asBoolean()).isFalse();
    assertThat(answer.at("/response/status/code").asInt()).isEqualTo(400);
    assertThat(answer.at("/response/status/message").asText()).contains("PortCollision").contains("port 15090");
  }

  @Test
  void aSkippedPodIsAllowedUnchanged() throws Exception {
    HttpResponse<String> response = post(client(certs), "/inject", review("s-3", pod("in-host-network.yaml"), "Pod", "", false));
    JsonNode answer = JSON.readTree(response.body());
    assertThat(answer.at("/response/allowed").asBoolean()).isTrue();
    assertThat(answer.at("/response/patch").isMissingNode()).isTrue();
  }

  @Test
  void anObjectThatIsNotAPodIsAllowedWithAWarning() throws Exception {
    HasMetadata deployment = Manifests.read(Files.readString(DIR.resolve("in-deployment.yaml")), "in-deployment.yaml").get(0);
    HttpResponse<String> response = post(client(certs), "/inject", review("d-4", deployment, "Deployment", "apps", false));
    JsonNode answer = JSON.readTree(response.body());
    assertThat(answer.at("/response/allowed").asBoolean()).isTrue();
    assertThat(answer.at("/response/patch").isMissingNode()).isTrue();
    assertThat(answer.at("/response/warnings/0").asText()).isEqualTo("vmesh injects Pods only; apps/Deployment admitted unchanged");
  }

  @Test
  void malformedRequestsGet400WithAMessage() throws Exception {
    HttpClient client = client(certs);
    HttpResponse<String> notJson = post(client, "/inject", "{\"apiVersion\": ");
    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(notJson.body()).startsWith("the body is not JSON");

    HttpResponse<String> wrongKind = post(client, "/inject", "{\"apiVersion\":\"v1\",\"kind\":\"Pod\"}");
    assertThat(wrongKind.statusCode()).isEqualTo(400);
    assertThat(wrongKind.body()).contains("expected kind AdmissionReview, apiVersion admission.k8s.io/v1; got kind 'Pod', apiVersion 'v1'");

    HttpResponse<String> noUid = post(client, "/inject", "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{}}");
    assertThat(noUid.statusCode()).isEqualTo(400);
    assertThat(noUid.body()).contains("no request.uid");

    HttpResponse<String> elsewhere = post(client, "/mutate", "{}");
    assertThat(elsewhere.statusCode()).isEqualTo(404);
    HttpResponse<String> get = client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + server.port() + "/inject")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(get.statusCode()).isEqualTo(405);
  }

  @Test
  void rotatedCertificatesAreServedWithoutARestart() throws Exception {
    WebhookCertificates next = WebhookCertificates.issue(NAMES, Clock.systemUTC());
    try {
      assertThat(server.updateCertificates(next.serving()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS)).isTrue();
      // a fresh client, so no pooled connection still carries the old certificate
      assertThat(post(client(next), "/inject", "{}").statusCode()).isEqualTo(400);
      assertThatThrownBy(() -> post(client(certs), "/inject", "{}")).isInstanceOf(SSLHandshakeException.class);
    } finally {
      server.updateCertificates(certs.serving()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
