package io.vmesh.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The server as a token issuer, driven by the real kubectl: TokenRequest bound to a Pod, then TokenReview of it. */
class ServiceAccountTokenIT extends AgainstServer {

  private static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  void start() throws Exception {
    Path objects = Files.writeString(dir.resolve("objects.yaml"), """
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: web, namespace: default}
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: other, namespace: default}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web-1, namespace: default}
        spec:
          serviceAccountName: web
          containers: [{name: app, image: app}]
        """);
    kubectl.ok("create", "--validate=false", "-f", objects.toString());
    // a second pod of the same account, deleted by one test
    kubectl.ok("create", "--validate=false", "-f", Files.writeString(dir.resolve("pod-2.yaml"),
        Files.readString(objects).substring(Files.readString(objects).lastIndexOf("---")).replace("web-1", "web-2")).toString());
  }

  @Test
  void discoveryListsTokenRequestAndTokenReview() throws Exception {
    assertThat(kubectl.ok("api-resources").out()).containsPattern("tokenreviews\\s+authentication.k8s.io/v1\\s+false\\s+TokenReview");
    assertThat(kubectl.ok("get", "--raw", "/api/v1").out()).contains("\"name\":\"serviceaccounts/token\"");
  }

  @Test
  void boundTokenHasKubernetesClaimsAndReviewsAsThePodsServiceAccount() throws Exception {
    String token = kubectl.ok("create", "token", "web", "--bound-object-kind", "Pod", "--bound-object-name", "web-1",
        "--audience", "vmesh", "--duration", "12h").out().trim();
    String[] parts = token.split("\\.");
    assertThat(parts).hasSize(3);
    JsonNode header = JSON.readTree(Base64.getUrlDecoder().decode(parts[0]));
    JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
    assertThat(header.path("alg").asText()).isEqualTo("RS256");
    assertThat(claims.path("sub").asText()).isEqualTo("system:serviceaccount:default:web");
    assertThat(claims.path("aud").get(0).asText()).isEqualTo("vmesh");
    assertThat(claims.path("exp").asLong() - claims.path("iat").asLong()).isEqualTo(12 * 3600);
    assertThat(claims.path("kubernetes.io").path("pod").path("name").asText()).isEqualTo("web-1");
    assertThat(claims.path("kubernetes.io").path("serviceaccount").path("name").asText()).isEqualTo("web");

    JsonNode review = review(token, "vmesh");
    assertThat(review.path("authenticated").asBoolean()).as(review.toString()).isTrue();
    JsonNode user = review.path("user");
    assertThat(user.path("username").asText()).isEqualTo("system:serviceaccount:default:web");
    assertThat(user.path("groups").toString()).contains("system:serviceaccounts:default");
    assertThat(user.path("extra").path("authentication.kubernetes.io/pod-name").get(0).asText()).isEqualTo("web-1");
    assertThat(user.path("extra").path("authentication.kubernetes.io/pod-uid").get(0).asText())
        .isEqualTo(kubectl.ok("get", "pod", "web-1", "-o", "jsonpath={.metadata.uid}").out());

    // another audience, a tampered token: not authenticated, with the reason
    assertThat(review(token, "other-audience").path("error").asText()).contains("audiences");
    String tampered = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
        claims.toString().replace("web-1", "web-2").getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
    JsonNode forged = review(tampered, "vmesh");
    assertThat(forged.path("authenticated").asBoolean()).isFalse();
    assertThat(forged.path("error").asText()).contains("signature");
  }

  @Test
  void refusesWhatKubernetesRefuses() throws Exception {
    assertThat(kubectl.run("create", "token", "missing").err()).contains("serviceaccounts \"missing\" not found");
    assertThat(kubectl.run("create", "token", "web", "--bound-object-kind", "Pod", "--bound-object-name", "nope").err())
        .contains("pods \"nope\" not found");
    assertThat(kubectl.run("create", "token", "other", "--bound-object-kind", "Pod", "--bound-object-name", "web-1").err())
        .contains("different serviceaccount name");
    assertThat(kubectl.run("create", "token", "web", "--duration", "5m").err()).contains("less than 10 minutes");
  }

  @Test
  void aTokenDiesWithItsPod() throws Exception {
    String token = kubectl.ok("create", "token", "web", "--bound-object-kind", "Pod", "--bound-object-name", "web-2",
        "--audience", "vmesh").out().trim();
    assertThat(review(token, "vmesh").path("authenticated").asBoolean()).isTrue();
    kubectl.ok("delete", "pod", "web-2");
    JsonNode after = review(token, "vmesh");
    assertThat(after.path("authenticated").asBoolean()).isFalse();
    assertThat(after.path("error").asText()).contains("web-2").contains("deleted");
  }

  private JsonNode review(String token, String audience) throws Exception {
    Path body = Files.writeString(dir.resolve("review.json"), JSON.createObjectNode()
        .put("apiVersion", "authentication.k8s.io/v1").put("kind", "TokenReview")
        .set("spec", JSON.createObjectNode().put("token", token).set("audiences", JSON.createArrayNode().add(audience))).toString());
    return JSON.readTree(kubectl.ok("create", "--validate=false", "-f", body.toString(), "-o", "json").out()).path("status");
  }
}
