package io.vmesh.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.zjsonpatch.JsonPatch;
import io.fabric8.zjsonpatch.JsonPatchException;
import io.vmesh.apiserver.auth.ProtobufTokenRequest;
import io.vmesh.apiserver.auth.ServiceAccountTokens;
import io.vmesh.apiserver.admission.ClusterIps;
import io.vmesh.apiserver.admission.MutatingAdmission;
import io.vmesh.apiserver.batch.FieldError;
import io.vmesh.apiserver.batch.JobStrategy;
import io.vmesh.apiserver.discovery.ApiResource;
import io.vmesh.apiserver.discovery.Discovery;
import io.vmesh.apiserver.table.BuiltInColumns;
import io.vmesh.apiserver.table.PrinterColumn;
import io.vmesh.apiserver.table.TableConverter;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts what kubectl needs in front of fabric8's CRUD store: discovery documents, {@code Table} answers from the
 * CRDs' printer columns, PUT and PATCH computed the Kubernetes way (status subresource included), CRDs that are
 * established and take their resources with them; GET, POST, DELETE and WebSocket watches go to the store as is.
 */
final class ApiDispatcher extends Dispatcher {

  private static final Logger LOG = LoggerFactory.getLogger(ApiDispatcher.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  private static final String AUTHORIZATION = "/apis/authorization.k8s.io/v1/";
  private static final java.util.Set<String> SELF_SUBJECT_REVIEWS =
      java.util.Set.of(AUTHORIZATION + "selfsubjectrulesreviews", AUTHORIZATION + "selfsubjectaccessreviews");
  private static final String TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews";
  static final String KUBERNETES_VERSION = "1.32";

  private final KubernetesCrudDispatcher store = new KubernetesCrudDispatcher();
  private final Object writes = new Object();
  private final Clock clock;
  private final TableConverter tables;
  private final Supplier<String> serverAddress;
  private final ServiceAccountTokens tokens;
  private final MutatingAdmission admission = new MutatingAdmission(path -> stored(path).orElse(null));
  private final ClusterIps clusterIps = new ClusterIps();
  private static final SecureRandom RANDOM = new SecureRandom();
  /** The letters Kubernetes' name generator draws from (no vowels, no look-alikes). */
  private static final String NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

  ApiDispatcher(Clock clock, Supplier<String> serverAddress) {
    this.clock = clock;
    this.tables = new TableConverter(clock);
    this.serverAddress = serverAddress;
    this.tokens = new ServiceAccountTokens(clock, this::stored);
  }

  @Override
  public MockResponse dispatch(RecordedRequest request) {
    String target = request.getPath();
    int q = target.indexOf('?');
    String path = q < 0 ? target : target.substring(0, q);
    String query = q < 0 ? "" : target.substring(q + 1);
    MockResponse response;
    try {
      response = route(request, path, query);
    } catch (RuntimeException e) {
      LOG.warn("{} {} failed", request.getMethod(), target, e);
      response = status(500, "InternalError", e.toString());
    }
    if (response.getWebSocketListener() == null && response.header("Content-Type") == null) {
      response.setHeader("Content-Type", "application/json");
    }
    LOG.debug("{} {} -> {}", request.getMethod(), target, response.code());
    return response;
  }

  private MockResponse route(RecordedRequest request, String path, String query) {
    String method = request.getMethod();
    String contentType = request.getHeader("Content-Type");
    Optional<ResourcePath> resource = ResourcePath.parse(path);
    if (method.equals("POST") && resource.isPresent() && resource.get().group().isEmpty()
        && resource.get().plural().equals("serviceaccounts") && "token".equals(resource.get().subresource())) {
      return tokenRequest(request, resource.get(), contentType == null ? "" : contentType);
    }
    if (contentType != null && !contentType.contains("json") && !contentType.contains("yaml")) {
      // kubectl's typed commands (create namespace, create configmap) send protobuf, which the store cannot read
      return status(415, "UnsupportedMediaType", "only JSON request bodies are supported, not " + contentType
          + "; use kubectl apply -f or kubectl create -f");
    }
    if (method.equals("GET")) {
      Optional<MockResponse> discovery = discovery(path);
      if (discovery.isPresent()) {
        return discovery.get();
      }
      if (isWatch(query) && !"websocket".equalsIgnoreCase(request.getHeader("Upgrade"))) {
        // 410 makes client-go informers (kubectl wait) list again after a backoff instead of logging errors
        return status(410, "Expired", "this embedded API server streams watches over WebSocket only "
            + "(kubectl get -w is not supported); list again");
      }
      String accept = request.getHeader("Accept");
      if (accept != null && accept.contains("as=Table") && !isWatch(query)) {
        return table(request.getPath(), path);
      }
    }
    if ((method.equals("PUT") || method.equals("PATCH")) && resource.isPresent() && resource.get().name() != null
        && (resource.get().subresource() == null || resource.get().subresource().equals("status"))) {
      return write(request, path, resource.get(), contentType == null ? "" : contentType);
    }
    if (method.equals("POST") && SELF_SUBJECT_REVIEWS.contains(path)) {
      return selfSubjectReview(request, path);
    }
    if (method.equals("POST") && path.equals(TOKEN_REVIEWS)) {
      return tokenReview(request);
    }
    if (method.equals("DELETE") && path.startsWith(CRDS + "/")) {
      return deleteCrd(request, path);
    }
    if (method.equals("POST") && resource.isPresent() && resource.get().name() == null) {
      Admitted admitted = admit(request, resource.get());
      if (admitted.refusal() != null) {
        return admitted.refusal();
      }
      request = admitted.request();
    }
    MockResponse response = store.dispatch(request);
    if (method.equals("POST") && resource.isPresent() && isJob(resource.get()) && resource.get().name() == null
        && response.code() == 201) {
      return generateJobSelector(resource.get(), response);
    }
    if (method.equals("POST") && path.equals(CRDS) && response.code() == 201) {
      String body = response.getBody().readUtf8();
      response.setBody(body);
      establish(readJson(body).path("metadata").path("name").asText());
    }
    return response;
  }

  /**
   * Runs a create through the mutating admission webhooks, allocates a Service's cluster IP, and leaves the
   * (possibly changed) body in {@code request} for the store; a refusal is returned as the answer.
   */
  private Admitted admit(RecordedRequest request, ResourcePath r) {
    JsonNode body = parse(request.getBody().readUtf8());
    if (body == null || !body.isObject()) {
      return new Admitted(null, status(400, "BadRequest", "the request body is not a JSON object"));
    }
    ObjectNode object = (ObjectNode) body;
    if (r.namespace() != null && !object.path("metadata").has("namespace") && object.path("metadata").isObject()) {
      ((ObjectNode) object.path("metadata")).put("namespace", r.namespace());
    }
    MutatingAdmission.Result result = admission.admitCreate(
        new MutatingAdmission.Resource(r.group(), r.version(), object.path("kind").asText(), r.plural()), r.namespace(), object);
    if (!result.allowed()) {
      LOG.info("create of {} in {} refused: {}", r.plural(), r.namespace(), result.message());
      return new Admitted(null, status(result.code(), result.code() >= 500 ? "InternalError" : "Forbidden", result.message()));
    }
    JsonNode admitted = result.object();
    if (admitted instanceof ObjectNode o) {
      generateName(o); // after admission, as in Kubernetes: webhooks see the generateName only
    }
    if (isJob(r) && admitted instanceof ObjectNode job) {
      JobStrategy.applyDefaults(job);
      List<FieldError> errors = JobStrategy.validateCreate(job);
      if (!errors.isEmpty()) {
        return new Admitted(null, invalid(job.path("metadata").path("name").asText(), errors));
      }
    }
    if (r.group().isEmpty() && r.plural().equals("services")) {
      List<ClusterIps.FieldError> errors = clusterIps.allocate((ObjectNode) admitted, storedServiceIps(null));
      if (!errors.isEmpty()) {
        return new Admitted(null, invalid("Service", admitted.path("metadata").path("name").asText(), errors));
      }
    }
    return new Admitted(new RecordedRequest(request.getHttpVersion(), request.method(), request.getPath(), request.getHeaders(),
        new Buffer().writeUtf8(admitted.toString())), null);
  }

  /**
   * {@code generateName} the Kubernetes way: the prefix (cut to 58 characters) and five random characters, so that
   * generated names stay short enough for labels; the store's own generator appends a whole UUID.
   */
  private static void generateName(ObjectNode object) {
    if (!(object.get("metadata") instanceof ObjectNode metadata) || !metadata.path("name").asText("").isEmpty()) {
      return;
    }
    String prefix = metadata.path("generateName").asText("");
    if (prefix.isEmpty()) {
      return;
    }
    StringBuilder name = new StringBuilder(prefix.substring(0, Math.min(prefix.length(), 58)));
    for (int i = 0; i < 5; i++) {
      name.append(NAME_ALPHABET.charAt(RANDOM.nextInt(NAME_ALPHABET.length())));
    }
    metadata.put("name", name.toString());
  }

  private static boolean isJob(ResourcePath r) {
    return r.group().equals("batch") && r.plural().equals("jobs");
  }

  /**
   * The selector and pod labels of a new Job name its uid, which the store assigns: they are written right after the
   * create, and the create answers with the result. The sandbox's Job controller skips a Job without a selector.
   */
  private MockResponse generateJobSelector(ResourcePath r, MockResponse created) {
    ObjectNode job = (ObjectNode) readJson(created);
    JobStrategy.generateSelector(job);
    String path = "/apis/batch/" + r.version() + "/namespaces/" + job.path("metadata").path("namespace").asText() + "/jobs/"
        + job.path("metadata").path("name").asText();
    synchronized (writes) {
      MockResponse updated = store.handleUpdate(put(path, job));
      return updated.code() == 200 ? updated.setResponseCode(201) : updated;
    }
  }

  /** 422 Invalid with a cause per field, which kubectl prints as {@code The Job "x" is invalid: ...}. */
  private static MockResponse invalid(String name, List<FieldError> errors) {
    String causes = errors.size() == 1 ? errors.get(0).message()
        : "[" + String.join(", ", errors.stream().map(FieldError::message).toList()) + "]";
    ObjectNode s = JSON.createObjectNode()
        .put("kind", "Status")
        .put("apiVersion", "v1")
        .put("status", "Failure")
        .put("message", "Job.batch \"" + name + "\" is invalid: " + causes)
        .put("reason", "Invalid")
        .put("code", 422);
    s.set("details", JSON.valueToTree(JobStrategy.details(name, errors)));
    return json(422, s);
  }

  /** A create after admission: the request to store, or the refusal to answer. */
  private record Admitted(RecordedRequest request, MockResponse refusal) {
  }

  /** The ClusterIPs of every stored Service but {@code except} (namespace/name). */
  private List<String> storedServiceIps(String except) {
    List<String> ips = new ArrayList<>();
    readJson(store.handleGet("/api/v1/services")).path("items").forEach(s -> {
      if (!(s.path("metadata").path("namespace").asText() + "/" + s.path("metadata").path("name").asText()).equals(except)) {
        s.path("spec").path("clusterIPs").forEach(ip -> ips.add(ip.asText()));
      }
    });
    return ips;
  }

  /** A 422 the way the API server words it, with causes, so kubectl prints {@code The Service "x" is invalid: ...}. */
  static MockResponse invalid(String kind, String name, List<ClusterIps.FieldError> errors) {
    String joined = errors.size() == 1 ? errors.get(0).toString()
        : "[" + String.join(", ", errors.stream().map(ClusterIps.FieldError::toString).toList()) + "]";
    ObjectNode s = JSON.createObjectNode().put("kind", "Status").put("apiVersion", "v1").put("status", "Failure")
        .put("message", kind + " \"" + name + "\" is invalid: " + joined).put("reason", "Invalid").put("code", 422);
    ObjectNode details = s.putObject("details").put("name", name).put("kind", kind);
    ArrayNode causes = details.putArray("causes");
    errors.forEach(e -> causes.addObject().put("reason", e.reason()).put("message", e.detail()).put("field", e.field()));
    return json(422, s);
  }

  /**
   * PUT and PATCH of an object or its status, done the way Kubernetes does them: the new object is computed here
   * (RFC 7386 merge patch, RFC 6902 JSON patch), the status subresource owns {@code .status} and the main resource
   * owns the rest, and the store receives a plain PUT without query string. The store's merge appends to arrays
   * and its status handling looks at the path's end, so neither is left to it.
   */
  private MockResponse write(RecordedRequest request, String path, ResourcePath r, String contentType) {
    // read, compute and store as one step, so that concurrent patches never conflict with each other
    synchronized (writes) {
      return writeLocked(request, path, r, contentType);
    }
  }

  private MockResponse writeLocked(RecordedRequest request, String path, ResourcePath r, String contentType) {
    boolean statusWrite = "status".equals(r.subresource());
    String mainPath = statusWrite ? path.substring(0, path.length() - "/status".length()) : path;
    MockResponse found = store.handleGet(mainPath);
    if (found.code() != 200) {
      return status(404, "NotFound", r.plural() + " \"" + r.name() + "\" not found");
    }
    JsonNode current = readJson(found);
    JsonNode body = parse(request.getBody().readUtf8());
    if (body == null) {
      return status(400, "BadRequest", "the request body is not JSON");
    }
    JsonNode next;
    if (request.getMethod().equals("PUT")) {
      next = body;
    } else if (contentType.startsWith("application/merge-patch+json")) {
      next = MergePatch.apply(current, body);
    } else if (contentType.startsWith("application/json-patch+json")) {
      try {
        next = JsonPatch.apply(body, current);
      } catch (JsonPatchException e) {
        return status(422, "Invalid", "the JSON patch does not apply: " + e.getMessage());
      }
    } else if (contentType.startsWith("application/strategic-merge-patch+json")) {
      if (crd(r).isPresent()) {
        return status(415, "UnsupportedMediaType", "strategic merge patch is not supported for custom resources");
      }
      try {
        next = StrategicMergePatch.apply(current, body);
      } catch (IllegalArgumentException e) {
        return status(422, "Invalid", "the strategic merge patch does not apply: " + e.getMessage());
      }
    } else {
      return status(415, "UnsupportedMediaType", "only JSON merge patch, JSON patch and strategic merge patch "
          + "are supported, not " + contentType + " (no server-side apply)");
    }
    if (!next.isObject()) {
      return status(422, "Invalid", "the result is not an object");
    }
    if (!statusWrite && isJob(r)) {
      List<FieldError> errors = JobStrategy.validateUpdate(current, next);
      if (!errors.isEmpty()) {
        return invalid(r.name(), errors);
      }
    }
    String expectedVersion = next.path("metadata").path("resourceVersion").asText("");
    if (statusWrite && !expectedVersion.isEmpty()
        && !expectedVersion.equals(current.path("metadata").path("resourceVersion").asText())) {
      // the store checks resourceVersion on main writes only
      return status(409, "Conflict", "Operation cannot be fulfilled on " + r.plural() + " \"" + r.name()
          + "\": the object has been modified; please apply your changes to the latest version and try again");
    }
    if (!statusWrite && r.group().isEmpty() && r.plural().equals("services")) {
      List<ClusterIps.FieldError> errors = clusterIps.update(current, (ObjectNode) next, storedServiceIps(r.namespace() + "/" + r.name()));
      if (!errors.isEmpty()) {
        return invalid("Service", r.name(), errors);
      }
    }
    if (!statusWrite && hasStatusSubresource(r)) {
      ObjectNode kept = (ObjectNode) next;
      if (current.has("status")) {
        kept.set("status", current.get("status").deepCopy());
      } else {
        kept.remove("status");
      }
    }
    return store.handleUpdate(put(statusWrite ? mainPath + "/status" : mainPath, next));
  }

  private static RecordedRequest put(String path, JsonNode object) {
    return new RecordedRequest("HTTP/1.1", HttpMethod.PUT, path,
        Headers.builder().add("Content-Type", "application/json").build(), new Buffer().writeUtf8(object.toString()));
  }

  private boolean hasStatusSubresource(ResourcePath r) {
    return discovery().find(r.group(), r.version(), r.plural()).map(ApiResource::statusSubresource).orElse(false);
  }

  /** Marks a new CRD Established at once, as the real API server does within a moment, so kubectl wait passes. */
  private void establish(String crdName) {
    ObjectNode crd = (ObjectNode) readJson(store.handleGet(CRDS + "/" + crdName));
    ObjectNode status = crd.putObject("status");
    ArrayNode conditions = status.putArray("conditions");
    String now = clock.instant().truncatedTo(ChronoUnit.SECONDS).toString();
    conditions.addObject().put("type", "NamesAccepted").put("status", "True").put("lastTransitionTime", now)
        .put("reason", "NoConflicts").put("message", "no conflicts found");
    conditions.addObject().put("type", "Established").put("status", "True").put("lastTransitionTime", now)
        .put("reason", "InitialNamesAccepted").put("message", "the initial names have been accepted");
    status.set("acceptedNames", crd.path("spec").path("names").deepCopy());
    ArrayNode stored = status.putArray("storedVersions");
    crd.path("spec").path("versions").forEach(v -> {
      if (v.path("storage").asBoolean(false)) {
        stored.add(v.path("name").asText());
      }
    });
    store.handleUpdate(put(CRDS + "/" + crdName + "/status", crd));
  }

  /** Deleting a CRD deletes its custom resources too, as on a real cluster. */
  private MockResponse deleteCrd(RecordedRequest request, String path) {
    JsonNode crd = readJson(store.handleGet(path));
    MockResponse response = store.dispatch(request);
    if (response.code() == 200 && crd.has("spec")) {
      String group = crd.path("spec").path("group").asText();
      String plural = crd.path("spec").path("names").path("plural").asText();
      crd.path("spec").path("versions").forEach(v ->
          store.handleDelete("/apis/" + group + "/" + v.path("name").asText() + "/" + plural));
    }
    return response;
  }

  private Optional<MockResponse> discovery(String path) {
    if (path.equals("/version")) {
      return Optional.of(json(200, versionInfo()));
    }
    if (path.equals("/openapi") || path.startsWith("/openapi/")) {
      return Optional.of(status(404, "NotFound", "OpenAPI documents are not served; use --validate=false"));
    }
    if (path.equals("/healthz") || path.equals("/readyz") || path.equals("/livez")) {
      return Optional.of(new MockResponse().setResponseCode(200).setHeader("Content-Type", "text/plain")
          .setBody("ok"));
    }
    String[] s = path.replaceAll("^/+|/+$", "").split("/");
    if (s[0].equals("api") && s.length <= 2) {
      Discovery d = discovery();
      return Optional.of(s.length == 1 ? json(200, d.apiVersions(serverAddress.get()))
          : d.resourceList("", s[1]).map(doc -> json(200, doc)).orElse(notFound(path)));
    }
    if (s[0].equals("apis") && s.length <= 3) {
      Discovery d = discovery();
      if (s.length == 1) {
        return Optional.of(json(200, d.groupList()));
      }
      Optional<? extends JsonNode> doc = s.length == 2 ? d.group(s[1]) : d.resourceList(s[1], s[2]);
      return Optional.of(doc.map(n -> json(200, n)).orElse(notFound(path)));
    }
    return Optional.empty();
  }

  private Discovery discovery() {
    return new Discovery(storedCrds());
  }

  private List<JsonNode> storedCrds() {
    MockResponse list = store.handleGet(CRDS);
    List<JsonNode> crds = new ArrayList<>();
    readJson(list).path("items").forEach(crds::add);
    return crds;
  }

  private MockResponse table(String target, String path) {
    MockResponse response = store.handleGet(target);
    Optional<ResourcePath> resource = ResourcePath.parse(path);
    if (response.code() != 200 || resource.isEmpty() || resource.get().subresource() != null) {
      return response;
    }
    ResourcePath r = resource.get();
    String body = response.getBody().readUtf8();
    JsonNode object = parse(body);
    if (object == null || !(object.has("items") || object.has("metadata"))) {
      return response.setBody(body);
    }
    return json(200, tables.convert(object, columns(r)));
  }

  /** The CRD's printer columns for this version, or just Age for built-in kinds and unknown types. */
  private List<PrinterColumn> columns(ResourcePath r) {
    Optional<JsonNode> crd = crd(r);
    if (crd.isPresent()) {
      for (JsonNode v : crd.get().path("spec").path("versions")) {
        if (v.path("name").asText().equals(r.version())) {
          return PrinterColumn.fromCrdVersion(v);
        }
      }
      return List.of(PrinterColumn.AGE);
    }
    return BuiltInColumns.of(r.group(), r.plural(), clock);
  }

  /** The stored CRD that defines this resource's type, if it is a custom resource. */
  private Optional<JsonNode> crd(ResourcePath r) {
    return storedCrds().stream()
        .filter(crd -> crd.path("spec").path("group").asText().equals(r.group())
            && crd.path("spec").path("names").path("plural").asText().equals(r.plural()))
        .findFirst();
  }

  private static boolean isWatch(String query) {
    for (String p : query.split("&")) {
      if (p.equals("watch=true") || p.equals("watch=1")) {
        return true;
      }
    }
    return false;
  }

  private static JsonNode versionInfo() {
    return JSON.createObjectNode()
        .put("major", "1")
        .put("minor", KUBERNETES_VERSION.substring(2))
        .put("gitVersion", "v" + KUBERNETES_VERSION + ".0-vmesh")
        .put("gitCommit", "")
        .put("gitTreeState", "clean")
        .put("buildDate", "2026-01-01T00:00:00Z")
        .put("goVersion", "java" + Runtime.version().feature())
        .put("compiler", "fabric8-mock")
        .put("platform", "linux/amd64");
  }

  private static MockResponse notFound(String path) {
    return status(404, "NotFound", "the server could not find the requested resource " + path);
  }

  /**
   * This server authorizes nothing, so every subject may do everything; it says so to clients that ask first
   * (java-operator-sdk checks its rights on Leases before leader election and stops when it gets no answer).
   */
  private MockResponse selfSubjectReview(RecordedRequest request, String path) {
    JsonNode body = parse(request.getBody().readUtf8());
    if (body == null || !body.isObject()) {
      return status(400, "BadRequest", "the request body is not a JSON object");
    }
    ObjectNode review = (ObjectNode) body;
    ObjectNode status = review.putObject("status");
    if (path.endsWith("selfsubjectrulesreviews")) {
      ObjectNode rule = status.putArray("resourceRules").addObject();
      rule.putArray("verbs").add("*");
      rule.putArray("apiGroups").add("*");
      rule.putArray("resources").add("*");
      ObjectNode nonResource = status.putArray("nonResourceRules").addObject();
      nonResource.putArray("verbs").add("*");
      nonResource.putArray("nonResourceURLs").add("*");
      status.put("incomplete", false);
    } else {
      status.put("allowed", true);
      status.put("reason", "the embedded API server does not authorize requests");
    }
    return new MockResponse().setResponseCode(201).setBody(review.toString());
  }

  /** TokenRequest: a signed token for a ServiceAccount, bound to a Pod when asked (what the kubelet mounts). */
  private MockResponse tokenRequest(RecordedRequest request, ResourcePath r, String contentType) {
    try {
      // kubectl create token sends protobuf; the JSON answer is one client-go reads as well
      JsonNode body = contentType.startsWith("application/vnd.kubernetes.protobuf")
          ? ProtobufTokenRequest.decode(request.getBody().readByteArray())
          : parse(request.getBody().readUtf8());
      return json(201, tokens.request(r.namespace(), r.name(), body));
    } catch (IllegalArgumentException e) {
      return status(400, "BadRequest", "cannot read the TokenRequest: " + e.getMessage());
    } catch (ServiceAccountTokens.Refused e) {
      return status(e.code, e.reason, e.getMessage());
    }
  }

  /** TokenReview: who a ServiceAccount token belongs to, or why it is not valid (in the status, as Kubernetes answers). */
  private MockResponse tokenReview(RecordedRequest request) {
    try {
      return json(201, tokens.review(parse(request.getBody().readUtf8())));
    } catch (ServiceAccountTokens.Refused e) {
      return status(e.code, e.reason, e.getMessage());
    }
  }

  private Optional<JsonNode> stored(String path) {
    MockResponse found = store.handleGet(path);
    return found.code() == 200 ? Optional.of(readJson(found)) : Optional.empty();
  }

  static MockResponse status(int code, String reason, String message) {
    JsonNode s = JSON.createObjectNode()
        .put("kind", "Status")
        .put("apiVersion", "v1")
        .put("status", "Failure")
        .put("message", message)
        .put("reason", reason)
        .put("code", code);
    return json(code, s);
  }

  private static MockResponse json(int code, JsonNode body) {
    return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json")
        .setBody(body.toString());
  }

  private static JsonNode readJson(MockResponse response) {
    return readJson(response.getBody().readUtf8());
  }

  private static JsonNode readJson(String body) {
    JsonNode n = parse(body);
    return n == null ? JSON.createObjectNode() : n;
  }

  private static JsonNode parse(String body) {
    try {
      return body == null || body.isEmpty() ? null : JSON.readTree(body);
    } catch (IOException e) {
      return null;
    }
  }

  /** Creates an object straight in the store, as if POSTed to {@code collectionPath}. */
  void create(String collectionPath, JsonNode object) {
    MockResponse r = store.handleCreate(new RecordedRequest("HTTP/1.1", HttpMethod.POST, collectionPath,
        Headers.builder().add("Content-Type", "application/json").build(),
        new Buffer().writeUtf8(object.toString())));
    if (r.code() != 201) {
      throw new IllegalStateException("cannot create " + object + ": " + r.code());
    }
  }
}
