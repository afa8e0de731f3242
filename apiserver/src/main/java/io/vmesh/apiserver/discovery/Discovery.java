package io.vmesh.apiserver.discovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The discovery documents kubectl and client libraries read before anything else ({@code /api}, {@code /apis},
 * {@code /api/v1}, {@code /apis/<group>/<version>}), made from the built-in types plus the CRDs stored right now.
 */
public final class Discovery {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<ApiResource> resources;
  /** group → served versions, preferred first. */
  private final Map<String, List<String>> groups = new LinkedHashMap<>();

  /** {@code crds} are the stored {@code CustomResourceDefinition} objects. */
  public Discovery(List<JsonNode> crds) {
    resources = new ArrayList<>(BuiltInResources.all());
    for (ApiResource r : resources) {
      List<String> versions = groups.computeIfAbsent(r.group(), g -> new ArrayList<>());
      if (!versions.contains(r.version())) {
        versions.add(r.version());
      }
    }
    for (JsonNode crd : crds) {
      addCrd(crd);
    }
  }

  private void addCrd(JsonNode crd) {
    JsonNode spec = crd.path("spec");
    JsonNode names = spec.path("names");
    String group = spec.path("group").asText();
    List<String> versions = groups.computeIfAbsent(group, g -> new ArrayList<>());
    for (JsonNode v : spec.path("versions")) {
      if (!v.path("served").asBoolean(true)) {
        continue;
      }
      String version = v.path("name").asText();
      resources.add(new ApiResource(group, version, names.path("plural").asText(),
          names.path("singular").asText(names.path("kind").asText().toLowerCase()), names.path("kind").asText(),
          !"Cluster".equals(spec.path("scope").asText()), strings(names.path("shortNames")),
          strings(names.path("categories")), v.path("subresources").has("status")));
      if (!versions.contains(version)) {
        // the storage version is the one Kubernetes prefers when it cannot rank them
        if (v.path("storage").asBoolean(false)) {
          versions.add(0, version);
        } else {
          versions.add(version);
        }
      }
    }
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** The resource type served at {@code group/version/plural}, if any. */
  public Optional<ApiResource> find(String group, String version, String plural) {
    return resources.stream()
        .filter(r -> r.group().equals(group) && r.version().equals(version) && r.plural().equals(plural))
        .findFirst();
  }

  /** {@code /api}. */
  public ObjectNode apiVersions(String serverAddress) {
    ObjectNode doc = JSON.createObjectNode();
    doc.put("kind", "APIVersions");
    doc.putArray("versions").add("v1");
    ObjectNode cidr = doc.putArray("serverAddressByClientCIDRs").addObject();
    cidr.put("clientCIDR", "0.0.0.0/0");
    cidr.put("serverAddress", serverAddress);
    return doc;
  }

  /** {@code /apis}. */
  public ObjectNode groupList() {
    ObjectNode doc = JSON.createObjectNode();
    doc.put("kind", "APIGroupList");
    doc.put("apiVersion", "v1");
    ArrayNode list = doc.putArray("groups");
    groups.forEach((name, versions) -> {
      if (!name.isEmpty() && !versions.isEmpty()) {
        list.add(group(name, versions));
      }
    });
    return doc;
  }

  /** {@code /apis/<group>}, or empty when no such group is served. */
  public Optional<ObjectNode> group(String name) {
    List<String> versions = groups.get(name);
    if (name.isEmpty() || versions == null || versions.isEmpty()) {
      return Optional.empty();
    }
    ObjectNode doc = group(name, versions);
    doc.put("kind", "APIGroup");
    doc.put("apiVersion", "v1");
    return Optional.of(doc);
  }

  private static ObjectNode group(String name, List<String> versions) {
    ObjectNode g = JSON.createObjectNode();
    g.put("name", name);
    ArrayNode vs = g.putArray("versions");
    for (String v : versions) {
      vs.add(groupVersion(name, v));
    }
    g.set("preferredVersion", groupVersion(name, versions.get(0)));
    return g;
  }

  private static ObjectNode groupVersion(String group, String version) {
    ObjectNode v = JSON.createObjectNode();
    v.put("groupVersion", group + "/" + version);
    v.put("version", version);
    return v;
  }

  /** {@code /api/v1} (group "") or {@code /apis/<group>/<version>}, or empty when not served. */
  public Optional<ObjectNode> resourceList(String group, String version) {
    List<ApiResource> served = resources.stream()
        .filter(r -> r.group().equals(group) && r.version().equals(version))
        .toList();
    if (served.isEmpty()) {
      return Optional.empty();
    }
    ObjectNode doc = JSON.createObjectNode();
    doc.put("kind", "APIResourceList");
    doc.put("apiVersion", "v1");
    doc.put("groupVersion", served.get(0).groupVersion());
    ArrayNode list = doc.putArray("resources");
    for (ApiResource r : served) {
      ObjectNode e = list.addObject();
      e.put("name", r.plural());
      e.put("singularName", r.singular());
      e.put("namespaced", r.namespaced());
      e.put("kind", r.kind());
      ArrayNode verbs = e.putArray("verbs");
      r.verbs().forEach(verbs::add);
      if (!r.shortNames().isEmpty()) {
        ArrayNode sn = e.putArray("shortNames");
        r.shortNames().forEach(sn::add);
      }
      if (!r.categories().isEmpty()) {
        ArrayNode cs = e.putArray("categories");
        r.categories().forEach(cs::add);
      }
      if (r.statusSubresource()) {
        ObjectNode s = list.addObject();
        s.put("name", r.plural() + "/status");
        s.put("singularName", "");
        s.put("namespaced", r.namespaced());
        s.put("kind", r.kind());
        s.putArray("verbs").add("get").add("patch").add("update");
      }
      if (r.kind().equals("ServiceAccount") && r.group().isEmpty()) {
        // kubectl create token posts a TokenRequest here
        ObjectNode t = list.addObject();
        t.put("name", "serviceaccounts/token");
        t.put("singularName", "");
        t.put("namespaced", true);
        t.put("group", "authentication.k8s.io");
        t.put("version", "v1");
        t.put("kind", "TokenRequest");
        t.putArray("verbs").add("create");
      }
    }
    return Optional.of(doc);
  }
}
