package io.vmesh.operator.inject;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;

/**
 * AdmissionReview v1 in, AdmissionReview v1 out, for the HTTP layer to carry: parse, decide, patch, answer. No I/O; the
 * decision listener (Events, logs) is told about every decision except dry runs.
 */
public final class AdmissionHandler {

  public static final String API_VERSION = "admission.k8s.io/v1";

  /** What the HTTP layer sends back. */
  public record Answer(int status, String contentType, byte[] body) {
    static Answer badRequest(String message) {
      return new Answer(400, "text/plain; charset=utf-8", (message + "\n").getBytes(StandardCharsets.UTF_8));
    }
  }

  /** One decision, for Events and logs. */
  public record Decided(Pod pod, String namespace, InjectionDecision decision) {
  }

  private static final ObjectMapper JSON = Serialization.jsonMapper();

  private final InjectionContext context;
  private final Consumer<Decided> listener;

  public AdmissionHandler(InjectionContext context, Consumer<Decided> listener) {
    this.context = context;
    this.listener = listener;
  }

  public Answer handle(byte[] body) {
    JsonNode review;
    try {
      review = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      return Answer.badRequest("the body is not JSON: " + e.getOriginalMessage());
    } catch (java.io.IOException e) {
      return Answer.badRequest("the body cannot be read: " + e.getMessage());
    }
    if (review == null || !review.isObject()) {
      return Answer.badRequest("the body is not a JSON object; expected an AdmissionReview");
    }
    if (!"AdmissionReview".equals(review.path("kind").asText()) || !API_VERSION.equals(review.path("apiVersion").asText())) {
      return Answer.badRequest("expected kind AdmissionReview, apiVersion " + API_VERSION + "; got kind '" + review.path("kind").asText()
          + "', apiVersion '" + review.path("apiVersion").asText() + "'");
    }
    JsonNode request = review.path("request");
    String uid = request.path("uid").asText("");
    if (!request.isObject() || uid.isEmpty()) {
      return Answer.badRequest("the AdmissionReview has no request.uid");
    }
    String kind = request.path("kind").path("kind").asText();
    String group = request.path("kind").path("group").asText();
    if (!"Pod".equals(kind) || !group.isEmpty()) {
      return allowed(uid, null, "vmesh injects Pods only; " + (group.isEmpty() ? "" : group + "/") + kind + " admitted unchanged");
    }
    if (!"CREATE".equals(request.path("operation").asText())) {
      return allowed(uid, null, "vmesh injects on CREATE only; " + request.path("operation").asText() + " admitted unchanged");
    }
    Pod pod;
    try {
      pod = JSON.treeToValue(request.path("object"), Pod.class);
    } catch (JsonProcessingException e) {
      return Answer.badRequest("request.object is not a Pod: " + e.getOriginalMessage());
    }
    if (pod == null || pod.getMetadata() == null) {
      return Answer.badRequest("request.object is not a Pod: it has no metadata");
    }
    String ns = request.path("namespace").asText("");
    if (ns.isEmpty()) {
      ns = pod.getMetadata().getNamespace() == null ? "" : pod.getMetadata().getNamespace();
    }
    if (ns.isEmpty()) {
      return Answer.badRequest("the AdmissionReview names no namespace (request.namespace)");
    }
    String podNs = ns;
    // A namespace not in the cache yet was created an instant ago; the API server evaluated the configuration's
    // namespaceSelector against it, so it counts as enabled rather than silently losing its sidecar.
    Namespace namespace = context.namespace(ns).orElseGet(() -> new NamespaceBuilder().withNewMetadata().withName(podNs)
        .addToLabels(InjectionDecision.NAMESPACE_LABEL, InjectionDecision.NAMESPACE_ENABLED).endMetadata().build());
    InjectionSettings settings = context.settings();
    InjectionDecision decision = InjectionDecision.decide(pod, namespace, context.captures(ns), settings);
    if (!request.path("dryRun").asBoolean(false)) {
      listener.accept(new Decided(pod, ns, decision));
    }
    return switch (decision.outcome()) {
      case INJECT -> allowed(uid, PodMutator.patch(pod, decision, settings), null);
      case SKIP -> allowed(uid, null, null);
      case REFUSE -> denied(uid, decision);
    };
  }

  private static Answer allowed(String uid, List<PatchOperation> patch, String warning) {
    ObjectNode response = response(uid, true);
    if (patch != null) {
      response.put("patchType", "JSONPatch");
      response.put("patch", Base64.getEncoder().encodeToString(bytes(patch)));
    }
    if (warning != null) {
      ((ArrayNode) response.putArray("warnings")).add(warning);
    }
    return review(response);
  }

  private static Answer denied(String uid, InjectionDecision decision) {
    ObjectNode response = response(uid, false);
    ObjectNode status = response.putObject("status");
    status.put("code", 400);
    status.put("reason", "BadRequest");
    status.put("message", "vmesh: sidecar injection refused (" + decision.reason() + "): " + decision.message());
    return review(response);
  }

  private static ObjectNode response(String uid, boolean allowed) {
    ObjectNode response = JSON.createObjectNode();
    response.put("uid", uid);
    response.put("allowed", allowed);
    return response;
  }

  private static Answer review(ObjectNode response) {
    ObjectNode review = JSON.createObjectNode();
    review.put("apiVersion", API_VERSION);
    review.put("kind", "AdmissionReview");
    review.set("response", response);
    return new Answer(200, "application/json", bytes(review));
  }

  private static byte[] bytes(Object o) {
    try {
      return JSON.writeValueAsBytes(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }
}
