package io.vmesh.apiserver.discovery;

import java.util.List;

/** One resource type as discovery lists it under {@code /api/v1} or {@code /apis/<group>/<version>}. */
public record ApiResource(String group, String version, String plural, String singular, String kind,
    boolean namespaced, List<String> shortNames, List<String> categories, boolean statusSubresource) {

  /** The verbs of every resource here: the CRUD store serves them all alike. */
  static final List<String> VERBS = List.of("create", "delete", "deletecollection", "get", "list", "patch", "update",
      "watch");

  /** Reviews are answered, never stored: create is their one verb. */
  public List<String> verbs() {
    return kind.endsWith("Review") ? List.of("create") : VERBS;
  }

  public String groupVersion() {
    return group.isEmpty() ? version : group + "/" + version;
  }
}
