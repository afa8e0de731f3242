package io.vmesh.apiserver.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;

/**
 * The API server's ServiceAccount token issuer: TokenRequest mints a bound token (a JWT signed RS256 with claims
 * shaped like Kubernetes'), TokenReview checks one (signature, expiry, audience, and that the ServiceAccount and the
 * bound Pod still exist with the same uid). The signing key lives in memory: tokens die with the process, as they do
 * when a cluster's service-account key is rotated.
 */
public final class ServiceAccountTokens {

  /** What Kubernetes names itself in {@code iss} and uses as the default audience. */
  public static final String ISSUER = "https://kubernetes.default.svc.cluster.local";
  static final long DEFAULT_EXPIRATION_SECONDS = 3600;
  /** Kubernetes refuses shorter tokens. */
  static final long MIN_EXPIRATION_SECONDS = 600;
  static final long MAX_EXPIRATION_SECONDS = 1L << 32;
  public static final String POD_NAME_EXTRA = "authentication.kubernetes.io/pod-name";
  public static final String POD_UID_EXTRA = "authentication.kubernetes.io/pod-uid";
  static final String CREDENTIAL_ID_EXTRA = "authentication.kubernetes.io/credential-id";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder UNB64 = Base64.getUrlDecoder();

  private final Clock clock;
  private final KeyPair key;
  private final String keyId;
  /** Reads a stored object by its API path, e.g. {@code /api/v1/namespaces/ns/pods/p}. */
  private final Function<String, Optional<JsonNode>> store;

  public ServiceAccountTokens(Clock clock, Function<String, Optional<JsonNode>> store) {
    this.clock = clock;
    this.store = store;
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
      generator.initialize(2048);
      key = generator.generateKeyPair();
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getPublic().getEncoded());
      keyId = B64.encodeToString(digest);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no RSA key generator in this JDK", e);
    }
  }

  /** A refusal with the HTTP status and reason Kubernetes would answer. */
  public static final class Refused extends Exception {
    public final int code;
    public final String reason;

    Refused(int code, String reason, String message) {
      super(message);
      this.code = code;
      this.reason = reason;
    }
  }

  /**
   * Answers {@code POST /api/v1/namespaces/{ns}/serviceaccounts/{sa}/token}: the request with {@code status.token}
   * and {@code status.expirationTimestamp} filled in.
   */
  public ObjectNode request(String namespace, String serviceAccount, JsonNode body) throws Refused {
    if (body == null || !body.isObject()) {
      throw new Refused(400, "BadRequest", "the request body is not a TokenRequest object");
    }
    JsonNode sa = store.apply(path(namespace, "serviceaccounts", serviceAccount))
        .orElseThrow(() -> new Refused(404, "NotFound", "serviceaccounts \"" + serviceAccount + "\" not found"));
    JsonNode spec = body.path("spec");
    long expiration = spec.path("expirationSeconds").asLong(DEFAULT_EXPIRATION_SECONDS);
    if (expiration < MIN_EXPIRATION_SECONDS) {
      throw new Refused(422, "Invalid", "TokenRequest.authentication.k8s.io \"" + serviceAccount
          + "\" is invalid: spec.expirationSeconds: Invalid value: " + expiration + ": may not specify a duration less than 10 minutes");
    }
    expiration = Math.min(expiration, MAX_EXPIRATION_SECONDS);
    List<String> audiences = strings(spec.path("audiences"));
    if (audiences.isEmpty()) {
      audiences = List.of(ISSUER);
    }
    JsonNode ref = spec.path("boundObjectRef");
    JsonNode pod = null;
    if (!ref.isMissingNode() && !ref.isNull()) {
      String kind = ref.path("kind").asText("");
      if (!kind.equals("Pod")) {
        throw new Refused(400, "BadRequest", "cannot bind a token to a " + (kind.isEmpty() ? "object without kind" : kind)
            + ": this API server binds tokens to Pods only");
      }
      String podName = ref.path("name").asText("");
      pod = store.apply(path(namespace, "pods", podName))
          .orElseThrow(() -> new Refused(404, "NotFound", "pods \"" + podName + "\" not found"));
      String uid = ref.path("uid").asText("");
      if (!uid.isEmpty() && !uid.equals(uid(pod))) {
        throw new Refused(409, "Conflict", "the UID in the bound object reference (" + uid + ") does not match the UID in record ("
            + uid(pod) + "). The object might have been deleted and then recreated");
      }
      String podAccount = pod.path("spec").path("serviceAccountName").asText("default");
      if (!podAccount.equals(serviceAccount)) {
        throw new Refused(400, "BadRequest", "cannot bind token for serviceaccount \"" + serviceAccount
            + "\" to pod running with different serviceaccount name (\"" + podAccount + "\")");
      }
    }
    Instant now = clock.instant();
    Instant expires = now.plusSeconds(expiration);
    ObjectNode claims = JSON.createObjectNode();
    ArrayNode aud = claims.putArray("aud");
    audiences.forEach(aud::add);
    claims.put("exp", expires.getEpochSecond());
    claims.put("iat", now.getEpochSecond());
    claims.put("iss", ISSUER);
    claims.put("jti", UUID.randomUUID().toString());
    ObjectNode k8s = claims.putObject("kubernetes.io");
    k8s.put("namespace", namespace);
    if (pod != null) {
      k8s.putObject("pod").put("name", pod.path("metadata").path("name").asText()).put("uid", uid(pod));
    }
    k8s.putObject("serviceaccount").put("name", serviceAccount).put("uid", uid(sa));
    claims.put("nbf", now.getEpochSecond());
    claims.put("sub", username(namespace, serviceAccount));

    ObjectNode answer = ((ObjectNode) body).deepCopy();
    answer.put("apiVersion", "authentication.k8s.io/v1").put("kind", "TokenRequest");
    ObjectNode metadata = answer.with("metadata");
    metadata.put("name", serviceAccount).put("namespace", namespace).put("creationTimestamp", now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
    ObjectNode outSpec = answer.with("spec");
    ArrayNode outAud = outSpec.putArray("audiences");
    audiences.forEach(outAud::add);
    outSpec.put("expirationSeconds", expiration);
    answer.putObject("status").put("token", sign(claims)).put("expirationTimestamp", expires.toString());
    return answer;
  }

  /** Answers {@code POST /apis/authentication.k8s.io/v1/tokenreviews}: the review with its status filled in. */
  public ObjectNode review(JsonNode body) throws Refused {
    if (body == null || !body.isObject()) {
      throw new Refused(400, "BadRequest", "the request body is not a TokenReview object");
    }
    String token = body.path("spec").path("token").asText("");
    if (token.isEmpty()) {
      throw new Refused(422, "Invalid", "TokenReview.authentication.k8s.io is invalid: spec.token: Required value");
    }
    ObjectNode answer = ((ObjectNode) body).deepCopy();
    answer.put("apiVersion", "authentication.k8s.io/v1").put("kind", "TokenReview");
    ObjectNode status = answer.putObject("status");
    List<String> wanted = strings(body.path("spec").path("audiences"));
    try {
      JsonNode claims = verify(token);
      List<String> tokenAudiences = claims.path("aud").isTextual() ? List.of(claims.path("aud").asText()) : strings(claims.path("aud"));
      List<String> accepted = wanted.isEmpty() ? List.of(ISSUER) : wanted;
      List<String> both = new ArrayList<>(accepted);
      both.retainAll(tokenAudiences);
      if (both.isEmpty()) {
        throw new Refused(401, "Unauthorized", "token audiences " + tokenAudiences + " do not intersect the accepted audiences " + accepted);
      }
      JsonNode k8s = claims.path("kubernetes.io");
      String namespace = k8s.path("namespace").asText();
      String account = k8s.path("serviceaccount").path("name").asText();
      JsonNode sa = store.apply(path(namespace, "serviceaccounts", account))
          .orElseThrow(() -> new Refused(401, "Unauthorized", "service account " + namespace + "/" + account + " has been deleted"));
      if (!uid(sa).equals(k8s.path("serviceaccount").path("uid").asText())) {
        throw new Refused(401, "Unauthorized", "service account " + namespace + "/" + account + " was recreated (uid changed)");
      }
      ObjectNode user = status.putObject("user");
      user.put("username", username(namespace, account)).put("uid", uid(sa));
      user.putArray("groups").add("system:serviceaccounts").add("system:serviceaccounts:" + namespace).add("system:authenticated");
      ObjectNode extra = user.putObject("extra");
      extra.putArray(CREDENTIAL_ID_EXTRA).add("JTI=" + claims.path("jti").asText());
      JsonNode podClaim = k8s.path("pod");
      if (podClaim.isObject()) {
        String podName = podClaim.path("name").asText();
        JsonNode pod = store.apply(path(namespace, "pods", podName))
            .orElseThrow(() -> new Refused(401, "Unauthorized", "pod " + namespace + "/" + podName + " the token is bound to has been deleted"));
        if (!uid(pod).equals(podClaim.path("uid").asText())) {
          throw new Refused(401, "Unauthorized", "pod " + namespace + "/" + podName + " the token is bound to was recreated (uid changed)");
        }
        if (pod.path("metadata").hasNonNull("deletionTimestamp")) {
          throw new Refused(401, "Unauthorized", "pod " + namespace + "/" + podName + " the token is bound to is being deleted");
        }
        extra.putArray(POD_NAME_EXTRA).add(podName);
        extra.putArray(POD_UID_EXTRA).add(uid(pod));
      }
      status.put("authenticated", true);
      ArrayNode aud = status.putArray("audiences");
      both.forEach(aud::add);
    } catch (Refused e) {
      status.removeAll();
      status.put("authenticated", false);
      status.put("error", e.getMessage());
    }
    return answer;
  }

  private String sign(ObjectNode claims) {
    ObjectNode header = JSON.createObjectNode().put("alg", "RS256").put("kid", keyId);
    String signed = B64.encodeToString(header.toString().getBytes(StandardCharsets.UTF_8)) + "."
        + B64.encodeToString(claims.toString().getBytes(StandardCharsets.UTF_8));
    try {
      Signature rsa = Signature.getInstance("SHA256withRSA");
      rsa.initSign(key.getPrivate());
      rsa.update(signed.getBytes(StandardCharsets.US_ASCII));
      return signed + "." + B64.encodeToString(rsa.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign a token", e);
    }
  }

  /** The claims of a token this issuer signed and that is valid now. */
  private JsonNode verify(String token) throws Refused {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      throw new Refused(401, "Unauthorized", "not a JWT (expected header.claims.signature)");
    }
    JsonNode header;
    JsonNode claims;
    try {
      header = JSON.readTree(UNB64.decode(parts[0]));
      claims = JSON.readTree(UNB64.decode(parts[1]));
    } catch (IOException | IllegalArgumentException e) {
      throw new Refused(401, "Unauthorized", "not a JWT: " + e.getMessage());
    }
    if (!"RS256".equals(header.path("alg").asText()) || !keyId.equals(header.path("kid").asText())) {
      throw new Refused(401, "Unauthorized", "token not signed by this API server's service-account key");
    }
    try {
      Signature rsa = Signature.getInstance("SHA256withRSA");
      rsa.initVerify(key.getPublic());
      rsa.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
      if (!rsa.verify(UNB64.decode(parts[2]))) {
        throw new Refused(401, "Unauthorized", "invalid token signature");
      }
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new Refused(401, "Unauthorized", "invalid token signature: " + e.getMessage());
    }
    if (!ISSUER.equals(claims.path("iss").asText())) {
      throw new Refused(401, "Unauthorized", "token issuer " + claims.path("iss") + " is not " + ISSUER);
    }
    long now = clock.instant().getEpochSecond();
    if (claims.path("exp").asLong(0) <= now) {
      throw new Refused(401, "Unauthorized", "token has expired (exp " + Instant.ofEpochSecond(claims.path("exp").asLong(0)) + ")");
    }
    if (claims.path("nbf").asLong(0) > now + 60) {
      throw new Refused(401, "Unauthorized", "token is not valid yet");
    }
    return claims;
  }

  static String username(String namespace, String serviceAccount) {
    return "system:serviceaccount:" + namespace + ":" + serviceAccount;
  }

  private static String path(String namespace, String plural, String name) {
    return "/api/v1/namespaces/" + namespace + "/" + plural + "/" + name;
  }

  private static String uid(JsonNode object) {
    return object.path("metadata").path("uid").asText("");
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
