package io.vmesh.apiserver.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admission step against a real HTTPS webhook on loopback, with certificates made by openssl: which webhooks
 * are called, the review they get, the patch applied, denials, failurePolicy, and trust only through caBundle.
 */
class MutatingAdmissionTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final MutatingAdmission.Resource PODS = new MutatingAdmission.Resource("", "v1", "Pod", "pods");

  @TempDir
  Path dir;

  private HttpsServer server;
  private final List<JsonNode> reviews = new ArrayList<>();
  private volatile String answer = "patch";
  private final Map<String, JsonNode> store = new HashMap<>();
  private String caBundle;

  @BeforeEach
  void webhook() throws Exception {
    caBundle = certificates(dir, "ca");
    server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(serverTls(dir)));
    server.createContext("/mutate", exchange -> {
      JsonNode review = JSON.readTree(exchange.getRequestBody());
      synchronized (reviews) {
        reviews.add(review);
      }
      ObjectNode response = JSON.createObjectNode().put("uid", review.path("request").path("uid").asText());
      if (answer.equals("deny")) {
        response.put("allowed", false).putObject("status").put("code", 400).put("message", "no sidecar for you");
      } else {
        String patch = "[{\"op\":\"add\",\"path\":\"/metadata/labels/injected\",\"value\":\"yes\"}]";
        response.put("allowed", true).put("patchType", "JSONPatch")
            .put("patch", Base64.getEncoder().encodeToString(patch.getBytes(StandardCharsets.UTF_8)));
      }
      ObjectNode out = JSON.createObjectNode().put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
      out.set("response", response);
      byte[] body = out.toString().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    store.put("/api/v1/namespaces/shop", JSON.readTree("{\"metadata\":{\"name\":\"shop\",\"labels\":{\"inject\":\"on\"}}}"));
    store.put("/api/v1/namespaces/plain", JSON.readTree("{\"metadata\":{\"name\":\"plain\"}}"));
    store.put("/api/v1/namespaces/hooks/services/hook", JSON.readTree("{\"spec\":{\"ports\":[{\"name\":\"https\",\"port\":443}]}}"));
    store.put("/apis/discovery.k8s.io/v1/namespaces/hooks/endpointslices", JSON.readTree(
        "{\"items\":[{\"metadata\":{\"labels\":{\"kubernetes.io/service-name\":\"hook\"}},\"ports\":[{\"name\":\"https\",\"port\":"
            + server.getAddress().getPort() + "}],\"endpoints\":[{\"addresses\":[\"127.0.0.1\"],\"conditions\":{\"ready\":true}}]}]}"));
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private void configuration(String failurePolicy, String caBundle, String serviceName) {
    String json = """
        {"items":[{"metadata":{"name":"tests"},"webhooks":[{"name":"mutate.tests.io",
          "clientConfig":{"service":{"name":"%s","namespace":"hooks","path":"/mutate","port":443},"caBundle":"%s"},
          "rules":[{"operations":["CREATE"],"apiGroups":[""],"apiVersions":["v1"],"resources":["pods"]}],
          "failurePolicy":"%s","timeoutSeconds":5,
          "namespaceSelector":{"matchLabels":{"inject":"on"}},
          "objectSelector":{"matchExpressions":[{"key":"opt-out","operator":"DoesNotExist"}]}}]}]}
        """.formatted(serviceName, caBundle, failurePolicy);
    try {
      store.put(MutatingAdmission.CONFIGURATIONS, JSON.readTree(json));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private MutatingAdmission.Result admit(String namespace, String labels) throws Exception {
    JsonNode pod = JSON.readTree("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"" + namespace
        + "\",\"labels\":" + labels + "},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"x\"}]}}");
    return new MutatingAdmission(store::get).admitCreate(PODS, namespace, pod);
  }

  @Test
  void aMatchingWebhookIsCalledOverTrustedHttpsAndItsPatchApplied() throws Exception {
    configuration("Fail", caBundle, "hook");
    MutatingAdmission.Result r = admit("shop", "{\"app\":\"web\"}");
    assertThat(r.allowed()).as(r.message()).isTrue();
    assertThat(r.object().path("metadata").path("labels").path("injected").asText()).isEqualTo("yes");
    assertThat(reviews).singleElement().satisfies(review -> {
      assertThat(review.path("apiVersion").asText()).isEqualTo("admission.k8s.io/v1");
      assertThat(review.path("request").path("operation").asText()).isEqualTo("CREATE");
      assertThat(review.path("request").path("namespace").asText()).isEqualTo("shop");
      assertThat(review.path("request").path("object").path("metadata").path("name").asText()).isEqualTo("web");
    });
  }

  @Test
  void selectorsThatDoNotMatchLeaveTheObjectAloneWithoutACall() throws Exception {
    configuration("Fail", caBundle, "hook");
    MutatingAdmission.Result otherNamespace = admit("plain", "{\"app\":\"web\"}");
    MutatingAdmission.Result optedOut = admit("shop", "{\"opt-out\":\"true\"}");
    assertThat(otherNamespace.allowed()).isTrue();
    assertThat(otherNamespace.object().path("metadata").path("labels").has("injected")).isFalse();
    assertThat(optedOut.allowed()).isTrue();
    assertThat(optedOut.object().path("metadata").path("labels").has("injected")).isFalse();
    assertThat(reviews).isEmpty();
  }

  @Test
  void aDenialRefusesWithTheWebhooksCodeAndMessage() throws Exception {
    configuration("Ignore", caBundle, "hook");
    answer = "deny";
    MutatingAdmission.Result r = admit("shop", "{}");
    assertThat(r.allowed()).isFalse();
    assertThat(r.code()).isEqualTo(400);
    assertThat(r.message()).isEqualTo("admission webhook \"mutate.tests.io\" denied the request: no sidecar for you");
  }

  @Test
  void anUnreachableWebhookRefusesUnderFailAndIsSkippedUnderIgnore() throws Exception {
    server.stop(0);
    configuration("Fail", caBundle, "hook");
    MutatingAdmission.Result failed = admit("shop", "{}");
    assertThat(failed.allowed()).isFalse();
    assertThat(failed.code()).isEqualTo(500);
    assertThat(failed.message()).startsWith("Internal error occurred: failed calling webhook \"mutate.tests.io\": "
        + "failed to call webhook: Post \"https://hook.hooks.svc:443/mutate\": ");

    configuration("Ignore", caBundle, "hook");
    MutatingAdmission.Result ignored = admit("shop", "{\"app\":\"web\"}");
    assertThat(ignored.allowed()).isTrue();
    assertThat(ignored.object().path("metadata").path("labels").has("injected")).isFalse();
  }

  @Test
  void onlyTheCaBundleIsTrustedAndTheCertificateMustNameTheService() throws Exception {
    String otherCa = certificates(dir.resolve("other"), "ca");
    configuration("Fail", otherCa, "hook");
    MutatingAdmission.Result untrusted = admit("shop", "{}");
    assertThat(untrusted.allowed()).isFalse();
    assertThat(untrusted.message()).contains("failed calling webhook");

    // the certificate names hook.hooks.svc; a Service named otherwise resolves to the same endpoint but must fail
    store.put("/api/v1/namespaces/hooks/services/renamed", store.get("/api/v1/namespaces/hooks/services/hook"));
    ObjectNode slices = (ObjectNode) store.get("/apis/discovery.k8s.io/v1/namespaces/hooks/endpointslices").deepCopy();
    ((ObjectNode) slices.path("items").get(0).path("metadata").path("labels")).put("kubernetes.io/service-name", "renamed");
    store.put("/apis/discovery.k8s.io/v1/namespaces/hooks/endpointslices", slices);
    configuration("Fail", caBundle, "renamed");
    MutatingAdmission.Result wrongName = admit("shop", "{}");
    assertThat(wrongName.allowed()).isFalse();
    assertThat(reviews).isEmpty();
  }

  @Test
  void aServiceWithoutReadyEndpointsIsAnErrorNamingIt() throws Exception {
    store.remove("/apis/discovery.k8s.io/v1/namespaces/hooks/endpointslices");
    configuration("Fail", caBundle, "hook");
    MutatingAdmission.Result r = admit("shop", "{}");
    assertThat(r.allowed()).isFalse();
    assertThat(r.message()).contains("no ready endpoints for service hooks/hook port 443");
  }

  /** A CA and a serving certificate for {@code hook.hooks.svc} in {@code dir}; returns the CA as a caBundle. */
  private static String certificates(Path dir, String name) throws Exception {
    Files.createDirectories(dir);
    run(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", "/CN=tests-ca", "-keyout", name + ".key", "-out", name + ".crt");
    run(dir, "openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=hook",
        "-keyout", "tls.key", "-out", "tls.csr");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=DNS:hook.hooks.svc\n");
    run(dir, "openssl", "x509", "-req", "-in", "tls.csr", "-CA", name + ".crt", "-CAkey", name + ".key", "-CAcreateserial",
        "-days", "1", "-extfile", "san.ext", "-out", "tls.crt");
    run(dir, "openssl", "pkcs12", "-export", "-inkey", "tls.key", "-in", "tls.crt", "-passout", "pass:tests", "-out", "tls.p12");
    return Base64.getEncoder().encodeToString(Files.readAllBytes(dir.resolve(name + ".crt")));
  }

  private static SSLContext serverTls(Path dir) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(dir.resolve("tls.p12").toFile())) {
      ks.load(in, "tests".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "tests".toCharArray());
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, null);
    return ctx;
  }

  private static void run(Path dir, String... command) throws Exception {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
  }
}
