import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.vertx.core.Vertx;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.inject.AdmissionHandler;
import io.vmesh.operator.inject.InjectionContext;
import io.vmesh.operator.inject.InjectionSettings;
import io.vmesh.operator.inject.Manifests;
import io.vmesh.operator.webhook.WebhookCertificates;
import io.vmesh.operator.webhook.WebhookServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Injection latency through the HTTPS webhook: one in-process JDK client on a kept-alive connection, sequential
 * admissions of a realistic pod (init container, two containers, probes), p50/p99 over the measured run.
 * Run: java -cp operator/target/vmesh-operator.jar bench/WebhookBench.java [warmup] [measured]
 */
public class WebhookBench {

  public static void main(String[] args) throws Exception {
    int warmup = args.length > 0 ? Integer.parseInt(args[0]) : 5_000;
    int measured = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    Path dir = Path.of("operator/src/test/resources/inject");
    List<TrafficCapture> captures = Manifests.read(Files.readString(dir.resolve("in-init-containers-probes.yaml")), "capture").stream()
        .filter(TrafficCapture.class::isInstance).map(TrafficCapture.class::cast).toList();
    Pod pod = (Pod) Manifests.read(Files.readString(dir.resolve("in-init-containers-probes.yaml")), "pod").get(0);
    InjectionSettings settings = InjectionSettings.of(InjectionSettings.DEFAULT_IMAGE, InjectionSettings.DEFAULT_XDS_ADDRESS, "1.30",
        InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);
    InjectionContext context = new InjectionContext() {
      public Optional<Namespace> namespace(String name) {
        return Optional.empty();
      }

      public List<TrafficCapture> captures(String namespace) {
        return captures;
      }

      public InjectionSettings settings() {
        return settings;
      }
    };
    AdmissionHandler handler = new AdmissionHandler(context, d -> { });
    String body = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"bench\","
        + "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},\"namespace\":\"shop\",\"operation\":\"CREATE\",\"object\":"
        + Serialization.asJson(pod) + "}}";

    // the handler alone first: what HTTPS adds is the difference
    byte[] bytes = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    for (int i = 0; i < warmup; i++) {
      handler.handle(bytes);
    }
    long[] handlerNanos = new long[measured];
    for (int i = 0; i < measured; i++) {
      long t = System.nanoTime();
      handler.handle(bytes);
      handlerNanos[i] = System.nanoTime() - t;
    }
    Arrays.sort(handlerNanos);
    System.out.printf("handler alone: p50 %.3f ms, p99 %.3f ms%n", handlerNanos[measured / 2] / 1e6, handlerNanos[measured * 99 / 100] / 1e6);

    WebhookCertificates certs = WebhookCertificates.issue(List.of("localhost", "127.0.0.1"), Clock.systemUTC());
    Vertx vertx = Vertx.vertx();
    WebhookServer server = new WebhookServer(vertx, handler)
        .start("127.0.0.1", 0, certs.serving()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

    HttpClient client = HttpClient.newBuilder().sslContext(WebhookCertificates.clientContext(certs.caCertPem())).version(HttpClient.Version.HTTP_1_1).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create("https://localhost:" + server.port() + WebhookServer.PATH))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();

    for (int i = 0; i < warmup; i++) {
      send(client, request);
    }
    long[] nanos = new long[measured];
    long start = System.nanoTime();
    for (int i = 0; i < measured; i++) {
      long t = System.nanoTime();
      send(client, request);
      nanos[i] = System.nanoTime() - t;
    }
    long total = System.nanoTime() - start;
    Arrays.sort(nanos);
    System.out.printf("admissions: %d (after %d warm-up), request %d bytes, one kept-alive HTTPS connection%n", measured, warmup, body.length());
    System.out.printf("p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms, %.0f admissions/s%n",
        nanos[measured / 2] / 1e6, nanos[measured * 9 / 10] / 1e6, nanos[measured * 99 / 100] / 1e6, nanos[measured - 1] / 1e6,
        measured / (total / 1e9));
    server.stop().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static void send(HttpClient client, HttpRequest request) throws Exception {
    HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200 || !response.body().contains("\"patchType\":\"JSONPatch\"")) {
      throw new IllegalStateException("unexpected answer " + response.statusCode() + ": " + response.body());
    }
  }
}
