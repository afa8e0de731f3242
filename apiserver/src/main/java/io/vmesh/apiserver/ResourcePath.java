package io.vmesh.apiserver;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A resource URL split into its parts: {@code /api/v1/namespaces/ns/pods/name} or
 * {@code /apis/group/version/plural/name/status}; the query string is not part of it.
 */
record ResourcePath(String group, String version, String namespace, String plural, String name, String subresource) {

  /** Parses {@code path} (without query); empty for discovery and other non-resource URLs. */
  static Optional<ResourcePath> parse(String path) {
    List<String> s = Arrays.asList(path.replaceAll("^/+|/+$", "").split("/"));
    String group;
    String version;
    List<String> rest;
    if (s.size() >= 3 && s.get(0).equals("api")) {
      group = "";
      version = s.get(1);
      rest = s.subList(2, s.size());
    } else if (s.size() >= 4 && s.get(0).equals("apis")) {
      group = s.get(1);
      version = s.get(2);
      rest = s.subList(3, s.size());
    } else {
      return Optional.empty();
    }
    String namespace = null;
    // "namespaces/x/y" lists y in x, except a namespace's own subresources
    if (rest.size() >= 3 && rest.get(0).equals("namespaces") && !isNamespaceSubresource(rest)) {
      namespace = rest.get(1);
      rest = rest.subList(2, rest.size());
    }
    if (rest.isEmpty() || rest.size() > 3) {
      return Optional.empty();
    }
    return Optional.of(new ResourcePath(group, version, namespace, rest.get(0), rest.size() > 1 ? rest.get(1) : null,
        rest.size() > 2 ? rest.get(2) : null));
  }

  private static boolean isNamespaceSubresource(List<String> rest) {
    return rest.size() == 3 && (rest.get(2).equals("status") || rest.get(2).equals("finalize"));
  }
}
