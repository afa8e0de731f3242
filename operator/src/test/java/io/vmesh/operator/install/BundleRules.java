package io.vmesh.operator.install;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import java.net.URI;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The checks of operator-framework/api's bundle validators (REFERENCE.md section 5), errors and warnings
 * alike: a bundle that any of them would flag is reported here, and OlmBundleTest fails the build on it.
 */
final class BundleRules {

  /** The parts of a bundle: manifests/ (file names, the CSV as a map, the CRDs), annotations.yaml and bundle.Dockerfile. */
  record Bundle(List<String> manifestFiles, Map<String, Object> csv, List<HasMetadata> crds,
      Map<String, Object> annotations, String dockerfile) {
  }

  static final Set<String> INSTALL_MODES = Set.of("OwnNamespace", "SingleNamespace", "MultiNamespace", "AllNamespaces");
  static final Set<String> CAPABILITIES = Set.of("Basic Install", "Seamless Upgrades", "Full Lifecycle", "Deep Insights",
      "Auto Pilot");
  static final Set<String> CATEGORIES = Set.of("AI/Machine Learning", "Application Runtime", "Big Data", "Cloud Provider",
      "Database", "Developer Tools", "Drivers and plugins", "Integration & Delivery", "Logging & Tracing",
      "Modernization & Migration", "Monitoring", "Networking", "OpenShift Optional", "Security", "Storage",
      "Streaming & Messaging");
  static final Set<String> ICON_TYPES = Set.of("image/gif", "image/jpeg", "image/png", "image/svg+xml");
  static final Set<String> WEBHOOK_TYPES = Set.of("ValidatingAdmissionWebhook", "MutatingAdmissionWebhook", "ConversionWebhook");
  static final String CONDITIONS = "urn:alm:descriptor:io.kubernetes.conditions";
  static final String ANNOTATION_PREFIX = "operators.operatorframework.io.bundle.";
  private static final Pattern SEMVER = Pattern.compile(
      "(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?");
  private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");

  private final Bundle bundle;
  private final List<String> found = new ArrayList<>();

  private BundleRules(Bundle bundle) {
    this.bundle = bundle;
  }

  static List<String> violations(Bundle bundle) {
    BundleRules rules = new BundleRules(bundle);
    rules.format();
    rules.identity();
    rules.installModes();
    rules.people();
    rules.icon();
    rules.classification();
    rules.ownedCrds();
    rules.almExamples();
    rules.install();
    rules.webhooks();
    return rules.found;
  }

  private void format() {
    Map<String, Object> a = bundle.annotations();
    expect(a, "mediatype.v1", "registry+v1");
    expect(a, "manifests.v1", "manifests/");
    expect(a, "metadata.v1", "metadata/");
    String pkg = string(a, ANNOTATION_PREFIX + "package.v1");
    String channels = string(a, ANNOTATION_PREFIX + "channels.v1");
    String defaultChannel = string(a, ANNOTATION_PREFIX + "channel.default.v1");
    if (pkg.isBlank()) {
      found.add("annotations.yaml: no package");
    }
    if (channels.isBlank()) {
      found.add("annotations.yaml: no channels");
    } else if (!defaultChannel.isBlank() && !List.of(channels.split(",")).contains(defaultChannel)) {
      found.add("annotations.yaml: default channel " + defaultChannel + " is not one of the channels " + channels);
    }
    // bundle.Dockerfile: FROM scratch, the same annotations as labels, manifests/ and metadata/ copied to the root
    List<String> lines = bundle.dockerfile().lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    if (lines.isEmpty() || !lines.get(0).equals("FROM scratch")) {
      found.add("bundle.Dockerfile: must start FROM scratch");
    }
    Map<String, String> labels = new LinkedHashMap<>();
    for (String line : lines) {
      if (line.startsWith("LABEL ")) {
        String[] kv = line.substring(6).strip().split("=", 2);
        labels.put(kv[0], kv.length > 1 ? kv[1] : "");
      }
    }
    Map<String, String> expected = new LinkedHashMap<>();
    a.forEach((k, v) -> expected.put(k, String.valueOf(v)));
    if (!labels.equals(expected)) {
      found.add("bundle.Dockerfile: LABELs " + labels + " differ from annotations.yaml " + expected);
    }
    if (!lines.contains("COPY manifests /manifests/") || !lines.contains("COPY metadata /metadata/")) {
      found.add("bundle.Dockerfile: must COPY manifests /manifests/ and metadata /metadata/");
    }
    long csvs = bundle.manifestFiles().stream().filter(f -> f.endsWith(".clusterserviceversion.yaml")).count();
    if (csvs != 1) {
      found.add("manifests/: " + csvs + " ClusterServiceVersions, must be exactly one");
    }
    if (bundle.manifestFiles().size() != csvs + bundle.crds().size()) {
      found.add("manifests/: files other than the CSV and one CRD per file: " + bundle.manifestFiles());
    }
    if (!"ClusterServiceVersion".equals(bundle.csv().get("kind"))
        || !"operators.coreos.com/v1alpha1".equals(bundle.csv().get("apiVersion"))) {
      found.add("CSV: kind/apiVersion must be ClusterServiceVersion operators.coreos.com/v1alpha1");
    }
  }

  private void identity() {
    Map<String, Object> spec = spec();
    String version = string(spec, "version");
    if (!SEMVER.matcher(version).matches()) {
      found.add("CSV: spec.version '" + version + "' is not a semantic version");
    }
    String name = string(map(bundle.csv(), "metadata"), "name");
    if (!name.endsWith(".v" + version)) {
      found.add("CSV: metadata.name '" + name + "' must end with .v" + version);
    }
    String minKube = string(spec, "minKubeVersion");
    if (!SEMVER.matcher(minKube).matches()) {
      found.add("CSV: spec.minKubeVersion '" + minKube + "' missing or not a semantic version");
    }
    if (string(spec, "displayName").isBlank() || string(spec, "description").isBlank()) {
      found.add("CSV: spec.displayName and spec.description are required");
    }
    if (list(spec, "keywords").isEmpty()) {
      found.add("CSV: spec.keywords is empty");
    }
    if (string(spec, "maturity").isBlank()) {
      found.add("CSV: spec.maturity is empty");
    }
  }

  private void installModes() {
    List<Object> modes = list(spec(), "installModes");
    if (modes.isEmpty()) {
      found.add("CSV: spec.installModes is missing");
    }
    Set<String> seen = new HashSet<>();
    boolean anySupported = false;
    for (Object o : modes) {
      Map<String, Object> mode = cast(o);
      String type = string(mode, "type");
      if (!INSTALL_MODES.contains(type)) {
        found.add("CSV: install mode '" + type + "' is not one of " + INSTALL_MODES);
      }
      if (!seen.add(type)) {
        found.add("CSV: install mode " + type + " listed twice");
      }
      if (!(mode.get("supported") instanceof Boolean supported)) {
        found.add("CSV: install mode " + type + " has no supported: true/false");
      } else {
        anySupported |= supported;
      }
    }
    if (!modes.isEmpty() && !anySupported) {
      found.add("CSV: no install mode is supported");
    }
  }

  private void people() {
    if (string(map(spec(), "provider"), "name").isBlank()) {
      found.add("CSV: spec.provider.name is missing");
    }
    List<Object> maintainers = list(spec(), "maintainers");
    if (maintainers.isEmpty()) {
      found.add("CSV: spec.maintainers is empty");
    }
    for (Object o : maintainers) {
      Map<String, Object> m = cast(o);
      if (string(m, "name").isBlank() || !EMAIL.matcher(string(m, "email")).matches()) {
        found.add("CSV: maintainer " + m + " needs a name and a valid email");
      }
    }
    List<Object> links = list(spec(), "links");
    if (links.isEmpty()) {
      found.add("CSV: spec.links is empty");
    }
    for (Object o : links) {
      Map<String, Object> link = cast(o);
      if (string(link, "name").isBlank() || !isHttpUrl(string(link, "url"))) {
        found.add("CSV: link " + link + " needs a name and a valid http(s) url");
      }
    }
  }

  private void icon() {
    List<Object> icons = list(spec(), "icon");
    if (icons.size() != 1) {
      found.add("CSV: spec.icon must hold exactly one icon, has " + icons.size());
    }
    for (Object o : icons) {
      Map<String, Object> icon = cast(o);
      if (!ICON_TYPES.contains(string(icon, "mediatype"))) {
        found.add("CSV: icon mediatype '" + string(icon, "mediatype") + "' is not one of " + ICON_TYPES);
      }
      try {
        if (Base64.getDecoder().decode(string(icon, "base64data")).length == 0) {
          found.add("CSV: icon base64data is empty");
        }
      } catch (IllegalArgumentException e) {
        found.add("CSV: icon base64data is not base64: " + e.getMessage());
      }
    }
  }

  private void classification() {
    Map<String, Object> annotations = map(map(bundle.csv(), "metadata"), "annotations");
    String capabilities = string(annotations, "capabilities");
    if (!CAPABILITIES.contains(capabilities)) {
      found.add("CSV: capabilities '" + capabilities + "' is not one of " + CAPABILITIES);
    }
    String categories = string(annotations, "categories");
    for (String category : categories.split(",")) {
      if (!CATEGORIES.contains(category.strip())) {
        found.add("CSV: category '" + category.strip() + "' is not one of the standard categories");
      }
    }
  }

  private void ownedCrds() {
    Set<String> owned = new HashSet<>();
    for (Object o : list(map(spec(), "customresourcedefinitions"), "owned")) {
      Map<String, Object> d = cast(o);
      String name = string(d, "name");
      owned.add(name);
      CustomResourceDefinition crd = crd(name);
      if (crd == null) {
        found.add("CSV: owned CRD " + name + " is not in the bundle");
        continue;
      }
      String version = string(d, "version");
      JSONSchemaProps schema = CrdSchema.schemaOf(crd, version);
      if (schema == null) {
        found.add("CSV: owned CRD " + name + " has no version " + version + " in the bundle");
        continue;
      }
      if (!crd.getSpec().getNames().getKind().equals(string(d, "kind"))) {
        found.add("CSV: owned CRD " + name + " kind " + string(d, "kind") + " differs from the CRD's");
      }
      if (string(d, "displayName").isBlank() || string(d, "description").isBlank()) {
        found.add("CSV: owned CRD " + name + " needs a displayName and a description");
      }
      descriptors(name, schema, d, "spec");
      descriptors(name, schema, d, "status");
      boolean conditions = list(d, "statusDescriptors").stream().map(BundleRules::cast)
          .anyMatch(s -> "conditions".equals(s.get("path")) && list(s, "x-descriptors").contains(CONDITIONS));
      if (!conditions) {
        found.add("CSV: owned CRD " + name + " needs a status descriptor conditions with " + CONDITIONS);
      }
    }
    for (HasMetadata crd : bundle.crds()) {
      if (!(crd instanceof CustomResourceDefinition)) {
        found.add("manifests/: " + crd.getKind() + " " + crd.getMetadata().getName() + " is neither the CSV nor a CRD");
      } else if (!owned.contains(crd.getMetadata().getName())) {
        found.add("manifests/: CRD " + crd.getMetadata().getName() + " is bundled but not owned by the CSV");
      }
    }
  }

  private void descriptors(String crd, JSONSchemaProps schema, Map<String, Object> owned, String section) {
    for (Object o : list(owned, section + "Descriptors")) {
      Map<String, Object> d = cast(o);
      String path = string(d, "path");
      if (!CrdSchema.hasPath(schema, section, path)) {
        found.add("CSV: " + crd + " " + section + " descriptor path '" + path + "' is not a field of the CRD");
      }
      if (string(d, "displayName").isBlank() || string(d, "description").isBlank()) {
        found.add("CSV: " + crd + " " + section + " descriptor " + path + " needs a displayName and a description");
      }
    }
  }

  private void almExamples() {
    String json = string(map(map(bundle.csv(), "metadata"), "annotations"), "alm-examples");
    List<Map<String, Object>> examples;
    try {
      examples = InstallManifests.SERIALIZATION.unmarshal(json, List.class);
    } catch (RuntimeException e) {
      found.add("CSV: alm-examples is not a JSON array: " + e.getMessage());
      return;
    }
    if (examples == null) {
      found.add("CSV: alm-examples is missing");
      return;
    }
    Set<String> kinds = new HashSet<>();
    for (Map<String, Object> example : examples) {
      String apiVersion = String.valueOf(example.get("apiVersion"));
      String kind = String.valueOf(example.get("kind"));
      kinds.add(kind);
      Map<String, Object> owned = list(map(spec(), "customresourcedefinitions"), "owned").stream().map(BundleRules::cast)
          .filter(d -> kind.equals(d.get("kind")) && apiVersion.equals(string(d, "name").replaceFirst("^[^.]+\\.", "")
              + "/" + d.get("version")))
          .findFirst().orElse(null);
      if (owned == null) {
        found.add("CSV: alm-examples has " + apiVersion + " " + kind + ", which no owned CRD defines");
        continue;
      }
      CustomResourceDefinition crd = crd(string(owned, "name"));
      if (crd != null) {
        CrdSchema.violations(CrdSchema.schemaOf(crd, string(owned, "version")), example)
            .forEach(v -> found.add("CSV: alm-examples " + kind + " is invalid against its CRD: " + v));
      }
    }
    for (Object o : list(map(spec(), "customresourcedefinitions"), "owned")) {
      if (!kinds.contains(cast(o).get("kind"))) {
        found.add("CSV: alm-examples has no example of " + cast(o).get("kind"));
      }
    }
  }

  private void install() {
    Map<String, Object> install = map(spec(), "install");
    if (!"deployment".equals(install.get("strategy"))) {
      found.add("CSV: install strategy must be deployment");
    }
    Map<String, Object> strategy = map(install, "spec");
    List<Object> deployments = list(strategy, "deployments");
    if (deployments.isEmpty()) {
      found.add("CSV: the install strategy has no deployment");
    }
    for (Object o : deployments) {
      Map<String, Object> d = cast(o);
      for (Object c : list(map(map(map(d, "spec"), "template"), "spec"), "containers")) {
        Map<String, Object> container = cast(c);
        Map<String, Object> requests = map(map(container, "resources"), "requests");
        if (!requests.containsKey("cpu") || !requests.containsKey("memory")) {
          found.add("CSV: container " + container.get("name") + " of " + d.get("name") + " has no cpu and memory requests");
        }
      }
    }
    for (String kind : List.of("clusterPermissions", "permissions")) {
      for (Object p : list(strategy, kind)) {
        for (Object r : list(cast(p), "rules")) {
          Map<String, Object> rule = cast(r);
          boolean crdGroup = list(rule, "apiGroups").stream().anyMatch(g -> "apiextensions.k8s.io".equals(g) || "*".equals(g));
          boolean crdResource = list(rule, "resources").stream()
              .anyMatch(x -> "customresourcedefinitions".equals(x) || "*".equals(x));
          boolean creates = list(rule, "verbs").stream().anyMatch(v -> "create".equals(v) || "*".equals(v));
          if (crdGroup && crdResource && creates) {
            found.add("CSV: " + kind + " let the operator create CustomResourceDefinitions: " + rule);
          }
        }
      }
    }
  }

  private void webhooks() {
    Map<String, Object> strategy = map(map(spec(), "install"), "spec");
    for (Object o : list(spec(), "webhookdefinitions")) {
      Map<String, Object> w = cast(o);
      String name = string(w, "generateName");
      if (!WEBHOOK_TYPES.contains(string(w, "type"))) {
        found.add("CSV: webhook " + name + " type '" + string(w, "type") + "' is not one of " + WEBHOOK_TYPES);
      }
      Map<String, Object> deployment = list(strategy, "deployments").stream().map(BundleRules::cast)
          .filter(d -> String.valueOf(d.get("name")).equals(w.get("deploymentName"))).findFirst().orElse(null);
      if (deployment == null) {
        found.add("CSV: webhook " + name + " names deployment " + w.get("deploymentName") + ", which the install strategy lacks");
      } else {
        boolean portDeclared = list(map(map(map(deployment, "spec"), "template"), "spec"), "containers").stream()
            .flatMap(c -> list(cast(c), "ports").stream()).anyMatch(p -> w.get("targetPort").equals(cast(p).get("containerPort")));
        if (!portDeclared) {
          found.add("CSV: webhook " + name + " targetPort " + w.get("targetPort") + " is no container port of " + w.get("deploymentName"));
        }
      }
      if (!"None".equals(w.get("sideEffects")) && !"NoneOnDryRun".equals(w.get("sideEffects"))) {
        found.add("CSV: webhook " + name + " sideEffects must be None or NoneOnDryRun");
      }
      if (list(w, "admissionReviewVersions").isEmpty()) {
        found.add("CSV: webhook " + name + " has no admissionReviewVersions");
      }
      if (list(w, "rules").isEmpty()) {
        found.add("CSV: webhook " + name + " has no rules");
      }
      for (Object r : list(w, "rules")) {
        List<Object> groups = list(cast(r), "apiGroups");
        if (groups.contains("*")) {
          found.add("CSV: webhook " + name + " intercepts every API group, which OLM refuses");
        }
        if (groups.stream().anyMatch(g -> String.valueOf(g).endsWith("operators.coreos.com"))) {
          found.add("CSV: webhook " + name + " intercepts OLM's own resources, which OLM refuses");
        }
      }
    }
  }

  private CustomResourceDefinition crd(String name) {
    return bundle.crds().stream().filter(CustomResourceDefinition.class::isInstance).map(CustomResourceDefinition.class::cast)
        .filter(c -> c.getMetadata().getName().equals(name)).findFirst().orElse(null);
  }

  private void expect(Map<String, Object> annotations, String key, String value) {
    if (!value.equals(annotations.get(ANNOTATION_PREFIX + key))) {
      found.add("annotations.yaml: " + ANNOTATION_PREFIX + key + " must be " + value);
    }
  }

  private Map<String, Object> spec() {
    return map(bundle.csv(), "spec");
  }

  private static boolean isHttpUrl(String url) {
    try {
      URI uri = new URI(url);
      return ("https".equals(uri.getScheme()) || "http".equals(uri.getScheme())) && uri.getHost() != null;
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> cast(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }

  static Map<String, Object> map(Map<String, Object> parent, String key) {
    return cast(parent.get(key));
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Map<String, Object> parent, String key) {
    return parent.get(key) instanceof List<?> l ? (List<Object>) l : List.of();
  }

  static String string(Map<String, Object> parent, String key) {
    Object v = parent.get(key);
    return v == null ? "" : String.valueOf(v);
  }
}
