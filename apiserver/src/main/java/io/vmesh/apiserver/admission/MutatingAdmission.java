package io.vmesh.apiserver.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.zjsonpatch.JsonPatch;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mutating admission step of the API server for new objects: every stored
 * {@code MutatingWebhookConfiguration} webhook whose rules, namespaceSelector and objectSelector match is called
 * over HTTPS with an {@code AdmissionReview} v1, and its JSON patch applied; a denial refuses the create, and a
 * webhook that cannot be reached refuses it too under {@code failurePolicy: Fail} (skipped under
 * {@code Ignore}). Configurations run in name order, webhooks in list order, once each (no reinvocation).
 */
public final class MutatingAdmission {

  private static final Logger LOG = LoggerFactory.getLogger(MutatingAdmission.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String CONFIGURATIONS = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";

  /** The outcome: the object to store, or a refusal with the HTTP code and message the client sees. */
  public record Result(JsonNode object, int code, String message) {
    public boolean allowed() {
      return object != null;
    }
  }

  /** The resource being created: {@code group}/{@code version}, {@code kind}, {@code plural}. */
  public record Resource(String group, String version, String kind, String plural) {
  }

  private final Function<String, JsonNode> store;

  /** {@code store} reads an object or list from the API's own store by path; null when absent. */
  public MutatingAdmission(Function<String, JsonNode> store) {
    this.store = store;
  }

  public Result admitCreate(Resource resource, String namespace, JsonNode object) {
    JsonNode current = object;
    for (JsonNode configuration : configurations()) {
      for (JsonNode webhook : configuration.path("webhooks")) {
        if (!matches(webhook, resource, namespace, current)) {
          continue;
        }
        String name = webhook.path("name").asText();
        try {
          JsonNode answer = call(webhook, resource, namespace, current);
          if (!answer.path("allowed").asBoolean(false)) {
            JsonNode status = answer.path("status");
            int code = status.path("code").asInt(403);
            String message = status.path("message").asText("");
            return new Result(null, code == 0 ? 403 : code, "admission webhook \"" + name + "\" denied the request"
                + (message.isEmpty() ? "" : ": " + message));
          }
          current = applyPatch(answer, current, name);
        } catch (IOException | RuntimeException e) {
          boolean ignore = "Ignore".equals(webhook.path("failurePolicy").asText("Fail"));
          String why = "failed calling webhook \"" + name + "\": " + e.getMessage();
          if (ignore) {
            LOG.warn("{}; failurePolicy Ignore, so the {} is admitted without it", why, resource.kind());
            continue;
          }
          return new Result(null, 500, "Internal error occurred: " + why);
        }
      }
    }
    return new Result(current, 201, "");
  }

  private List<JsonNode> configurations() {
    JsonNode list = store.apply(CONFIGURATIONS);
    List<JsonNode> items = new ArrayList<>();
    if (list != null) {
      list.path("items").forEach(items::add);
    }
    items.sort(Comparator.comparing(c -> c.path("metadata").path("name").asText()));
    return items;
  }

  private boolean matches(JsonNode webhook, Resource resource, String namespace, JsonNode object) {
    boolean ruleMatches = false;
    for (JsonNode rule : webhook.path("rules")) {
      if (listHas(rule.path("operations"), "CREATE") && listHas(rule.path("apiGroups"), resource.group())
          && listHas(rule.path("apiVersions"), resource.version()) && listHas(rule.path("resources"), resource.plural())
          && scopeMatches(rule.path("scope").asText("*"), namespace)) {
        ruleMatches = true;
      }
    }
    if (!ruleMatches) {
      return false;
    }
    if (namespace != null) {
      JsonNode ns = store.apply("/api/v1/namespaces/" + namespace);
      JsonNode labels = ns == null ? JSON.createObjectNode() : ns.path("metadata").path("labels");
      // the API server adds this label to every namespace, so selectors may use it
      ObjectNode withName = labels.isObject() ? ((ObjectNode) labels).deepCopy() : JSON.createObjectNode();
      withName.put("kubernetes.io/metadata.name", namespace);
      if (!LabelSelector.matches(webhook.get("namespaceSelector"), withName)) {
        return false;
      }
    }
    return LabelSelector.matches(webhook.get("objectSelector"), object.path("metadata").path("labels"));
  }

  private static boolean scopeMatches(String scope, String namespace) {
    return scope.equals("*") || (scope.equals("Namespaced") == (namespace != null));
  }

  private static boolean listHas(JsonNode list, String value) {
    for (JsonNode v : list) {
      if (v.asText().equals("*") || v.asText().equals(value)) {
        return true;
      }
    }
    return false;
  }

  private JsonNode call(JsonNode webhook, Resource resource, String namespace, JsonNode object) throws IOException {
    ObjectNode review = JSON.createObjectNode().put("apiVersion", "admission.k8s.io/v1").put("kind", "AdmissionReview");
    ObjectNode request = review.putObject("request");
    String uid = UUID.randomUUID().toString();
    request.put("uid", uid);
    request.putObject("kind").put("group", resource.group()).put("version", resource.version()).put("kind", resource.kind());
    request.putObject("resource").put("group", resource.group()).put("version", resource.version()).put("resource", resource.plural());
    request.set("requestKind", request.get("kind").deepCopy());
    request.set("requestResource", request.get("resource").deepCopy());
    request.put("name", object.path("metadata").path("name").asText(""));
    if (namespace != null) {
      request.put("namespace", namespace);
    }
    request.put("operation", "CREATE");
    request.putObject("userInfo").put("username", "vmesh-embedded").putArray("groups").add("system:masters");
    request.set("object", object);
    request.putNull("oldObject");
    request.put("dryRun", false);
    request.putObject("options").put("apiVersion", "meta.k8s.io/v1").put("kind", "CreateOptions");

    Duration timeout = Duration.ofSeconds(Math.max(1, Math.min(30, webhook.path("timeoutSeconds").asInt(10))));
    JsonNode clientConfig = webhook.path("clientConfig");
    WebhookCall.Target target = target(clientConfig);
    String answer;
    try {
      answer = WebhookCall.post(target, clientConfig.path("caBundle").asText(null), review.toString(), timeout);
    } catch (IOException e) {
      throw new IOException("failed to call webhook: Post \"" + target.url() + "\": " + e.getMessage(), e);
    }
    JsonNode response = JSON.readTree(answer).path("response");
    if (!uid.equals(response.path("uid").asText())) {
      throw new IOException("the AdmissionReview answer's response.uid is not the request's (" + uid + ")");
    }
    return response;
  }

  private JsonNode applyPatch(JsonNode response, JsonNode object, String webhookName) throws IOException {
    if (!response.hasNonNull("patch")) {
      return object;
    }
    String type = response.path("patchType").asText("");
    if (!type.equals("JSONPatch")) {
      throw new IOException("webhook " + webhookName + " answered patchType '" + type + "'; only JSONPatch is defined");
    }
    JsonNode patch = JSON.readTree(new String(Base64.getDecoder().decode(response.path("patch").asText()), StandardCharsets.UTF_8));
    return JsonPatch.apply(patch, object);
  }

  /** Where clientConfig points: a URL as is, or a Service resolved to a ready endpoint of its EndpointSlices. */
  private WebhookCall.Target target(JsonNode clientConfig) throws IOException {
    if (clientConfig.hasNonNull("url")) {
      return WebhookCall.target(URI.create(clientConfig.path("url").asText()));
    }
    JsonNode service = clientConfig.path("service");
    if (service.isMissingNode()) {
      throw new IOException("the webhook's clientConfig has neither url nor service");
    }
    String name = service.path("name").asText();
    String ns = service.path("namespace").asText();
    int port = service.path("port").asInt(443);
    String path = service.path("path").asText("/");
    String serverName = name + "." + ns + ".svc";
    JsonNode svc = store.apply("/api/v1/namespaces/" + ns + "/services/" + name);
    if (svc == null) {
      throw new IOException("service \"" + name + "\" not found in namespace " + ns);
    }
    Optional<JsonNode> servicePort = stream(svc.path("spec").path("ports")).filter(p -> p.path("port").asInt() == port).findFirst();
    if (servicePort.isEmpty()) {
      throw new IOException("service " + ns + "/" + name + " has no port " + port);
    }
    String portName = servicePort.get().path("name").asText("");
    JsonNode slices = store.apply("/apis/discovery.k8s.io/v1/namespaces/" + ns + "/endpointslices");
    for (JsonNode slice : slices == null ? JSON.createArrayNode() : slices.path("items")) {
      if (!name.equals(slice.path("metadata").path("labels").path("kubernetes.io/service-name").asText())) {
        continue;
      }
      Optional<JsonNode> slicePort = stream(slice.path("ports")).filter(p -> p.path("name").asText("").equals(portName)).findFirst();
      if (slicePort.isEmpty()) {
        continue;
      }
      for (JsonNode endpoint : slice.path("endpoints")) {
        if (endpoint.path("conditions").path("ready").asBoolean(true) && endpoint.path("addresses").size() > 0) {
          return new WebhookCall.Target(serverName, port, endpoint.path("addresses").get(0).asText(),
              slicePort.get().path("port").asInt(), path);
        }
      }
    }
    throw new IOException("no ready endpoints for service " + ns + "/" + name + " port " + port
        + " (Post \"https://" + serverName + ":" + port + path + "\")");
  }

  private static java.util.stream.Stream<JsonNode> stream(JsonNode array) {
    List<JsonNode> l = new ArrayList<>();
    array.forEach(l::add);
    return l.stream();
  }
}
