package io.vmesh.apiserver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Strategic merge patch for the built-in kinds, what {@code kubectl apply} sends for them: objects merge as in a
 * merge patch, lists with a patch merge key merge element by element (the keys the Kubernetes types declare for
 * pods, pod templates and Services, below), other lists are replaced; the directives {@code $patch}
 * (merge, replace, delete), {@code $setElementOrder/<list>}, {@code $retainKeys} and
 * {@code $deleteFromPrimitiveList/<list>} are honoured. Merge keys are looked up by list name (with
 * {@code ports} keyed by {@code containerPort} inside a container and by {@code port} elsewhere), which is exact for
 * the kinds the box runs; a list of another kind without a key here is replaced, as a merge patch would.
 */
final class StrategicMergePatch {

  /** List name → patch merge key, from the Kubernetes API types' {@code patchMergeKey} tags. */
  static final Map<String, String> MERGE_KEYS = Map.ofEntries(
      Map.entry("containers", "name"),
      Map.entry("initContainers", "name"),
      Map.entry("ephemeralContainers", "name"),
      Map.entry("env", "name"),
      Map.entry("volumes", "name"),
      Map.entry("volumeMounts", "mountPath"),
      Map.entry("volumeDevices", "devicePath"),
      Map.entry("imagePullSecrets", "name"),
      Map.entry("hostAliases", "ip"),
      Map.entry("topologySpreadConstraints", "topologyKey"),
      Map.entry("resourceClaims", "name"),
      Map.entry("schedulingGates", "name"),
      Map.entry("conditions", "type"),
      Map.entry("ownerReferences", "uid"));
  /** Lists of scalars that merge as sets ({@code patchStrategy:"merge"} without a key). */
  static final Set<String> MERGED_SCALAR_LISTS = Set.of("finalizers");
  private static final Set<String> CONTAINER_LISTS = Set.of("containers", "initContainers", "ephemeralContainers");
  private static final String PATCH = "$patch";
  private static final String RETAIN_KEYS = "$retainKeys";
  private static final String ORDER = "$setElementOrder/";
  private static final String DELETE_FROM = "$deleteFromPrimitiveList/";

  private StrategicMergePatch() {
  }

  /**
   * The result of applying {@code patch} to {@code target}; neither is changed.
   *
   * @throws IllegalArgumentException naming the list or directive, when the patch is malformed
   */
  static JsonNode apply(JsonNode target, JsonNode patch) {
    JsonNode result = object(target, patch, "");
    if (result == null) {
      throw new IllegalArgumentException("$patch: delete at the top level would delete the object; use DELETE");
    }
    return result;
  }

  /** An object patched; null when the patch says {@code $patch: delete}. {@code list} names the list it is an element of. */
  private static JsonNode object(JsonNode target, JsonNode patch, String list) {
    if (!patch.isObject()) {
      return patch.deepCopy();
    }
    String directive = patch.path(PATCH).asText("merge");
    switch (directive) {
      case "delete":
        return null;
      case "replace":
        return strip((ObjectNode) patch);
      case "merge":
        break;
      default:
        throw new IllegalArgumentException("unknown $patch directive '" + directive + "' (merge, replace or delete)");
    }
    ObjectNode result = target != null && target.isObject() ? ((ObjectNode) target).deepCopy() : JsonNodeFactory.instance.objectNode();
    Map<String, JsonNode> orders = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = patch.fields(); it.hasNext();) {
      Map.Entry<String, JsonNode> field = it.next();
      String key = field.getKey();
      JsonNode value = field.getValue();
      if (key.equals(PATCH) || key.equals(RETAIN_KEYS)) {
        continue;
      }
      if (key.startsWith(ORDER)) {
        orders.put(key.substring(ORDER.length()), value);
      } else if (key.startsWith(DELETE_FROM)) {
        deleteFrom(result, key.substring(DELETE_FROM.length()), value);
      } else if (key.startsWith("$")) {
        throw new IllegalArgumentException("unknown strategic merge patch directive " + key);
      } else if (value.isNull()) {
        result.remove(key);
      } else if (value.isArray()) {
        result.set(key, list(result.get(key), (ArrayNode) value, key, list));
      } else if (value.isObject()) {
        JsonNode merged = object(result.get(key), value, "");
        if (merged == null) {
          result.remove(key);
        } else {
          result.set(key, merged);
        }
      } else {
        result.set(key, value.deepCopy());
      }
    }
    orders.forEach((name, order) -> order(result, name, order, list));
    if (patch.has(RETAIN_KEYS)) {
      Set<String> keep = new HashSet<>();
      patch.get(RETAIN_KEYS).forEach(k -> keep.add(k.asText()));
      List<String> drop = new ArrayList<>();
      result.fieldNames().forEachRemaining(k -> {
        if (!keep.contains(k)) {
          drop.add(k);
        }
      });
      drop.forEach(result::remove);
    }
    return result;
  }

  /** The merge key of list {@code name}, inside an element of list {@code parent}; null when the list is replaced. */
  static String mergeKey(String name, String parent) {
    if (name.equals("ports")) {
      return CONTAINER_LISTS.contains(parent) ? "containerPort" : "port";
    }
    return MERGE_KEYS.get(name);
  }

  private static ArrayNode list(JsonNode target, ArrayNode patch, String name, String parent) {
    String key = mergeKey(name, parent);
    if (MERGED_SCALAR_LISTS.contains(name)) {
      ArrayNode result = target != null && target.isArray() ? ((ArrayNode) target).deepCopy() : JsonNodeFactory.instance.arrayNode();
      for (JsonNode v : patch) {
        if (!contains(result, v)) {
          result.add(v.deepCopy());
        }
      }
      return result;
    }
    boolean replace = false;
    for (JsonNode e : patch) {
      if (e.isObject() && e.size() == 1 && "replace".equals(e.path(PATCH).asText())) {
        replace = true;
      }
    }
    if (key == null || replace) {
      ArrayNode result = JsonNodeFactory.instance.arrayNode();
      for (JsonNode e : patch) {
        if (!(e.isObject() && e.size() == 1 && e.has(PATCH))) {
          result.add(e.isObject() ? object(null, e, name) : e.deepCopy());
        }
      }
      return result;
    }
    List<JsonNode> elements = new ArrayList<>();
    if (target != null && target.isArray()) {
      target.forEach(e -> elements.add(e.deepCopy()));
    }
    for (JsonNode e : patch) {
      if (!e.isObject() || !e.has(key)) {
        throw new IllegalArgumentException("an element of list " + name + " has no merge key " + key + ": " + e);
      }
      int at = indexOf(elements, key, e.get(key));
      JsonNode merged = object(at < 0 ? null : elements.get(at), e, name);
      if (merged == null) {
        if (at >= 0) {
          elements.remove(at);
        }
      } else if (at < 0) {
        elements.add(merged);
      } else {
        elements.set(at, merged);
      }
    }
    ArrayNode result = JsonNodeFactory.instance.arrayNode();
    elements.forEach(result::add);
    return result;
  }

  /** {@code $setElementOrder/<list>}: the listed elements in that order, then any others (the server's) as they were. */
  private static void order(ObjectNode result, String name, JsonNode order, String parent) {
    JsonNode current = result.get(name);
    if (current == null || !current.isArray() || !order.isArray()) {
      return;
    }
    String key = mergeKey(name, parent);
    List<JsonNode> rest = new ArrayList<>();
    current.forEach(rest::add);
    ArrayNode sorted = JsonNodeFactory.instance.arrayNode();
    for (JsonNode o : order) {
      JsonNode wanted = key != null && o.isObject() ? o.get(key) : o;
      for (int i = 0; i < rest.size(); i++) {
        JsonNode e = rest.get(i);
        if ((key != null && e.isObject() ? e.get(key) : e).equals(wanted)) {
          sorted.add(e);
          rest.remove(i);
          break;
        }
      }
    }
    rest.forEach(sorted::add);
    result.set(name, sorted);
  }

  private static void deleteFrom(ObjectNode result, String name, JsonNode values) {
    JsonNode current = result.get(name);
    if (current == null || !current.isArray()) {
      return;
    }
    ArrayNode kept = JsonNodeFactory.instance.arrayNode();
    current.forEach(v -> {
      if (!contains(values, v)) {
        kept.add(v);
      }
    });
    result.set(name, kept);
  }

  private static int indexOf(List<JsonNode> elements, String key, JsonNode value) {
    for (int i = 0; i < elements.size(); i++) {
      if (value.equals(elements.get(i).get(key))) {
        return i;
      }
    }
    return -1;
  }

  private static boolean contains(JsonNode array, JsonNode value) {
    for (JsonNode v : array) {
      if (v.equals(value)) {
        return true;
      }
    }
    return false;
  }

  /** A replacement object without directives. */
  private static ObjectNode strip(ObjectNode o) {
    ObjectNode copy = o.deepCopy();
    List<String> directives = new ArrayList<>();
    copy.fieldNames().forEachRemaining(k -> {
      if (k.startsWith("$")) {
        directives.add(k);
      }
    });
    directives.forEach(copy::remove);
    return copy;
  }
}
