package io.vmesh.operator.install;

import static io.vmesh.operator.install.BundleRules.cast;
import static io.vmesh.operator.install.BundleRules.list;
import static io.vmesh.operator.install.BundleRules.map;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.RuleWithOperations;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** olm/ is generated from the sources (no drift) and passes every bundle validator rule of REFERENCE.md section 5. */
class OlmBundleTest {

  private static final String REGENERATE =
      "olm/manifests/ is out of date with olm/csv-template.yaml, deploy/, samples/ or crds/; regenerate it with: "
          + "./mvnw -B -q -pl operator -am test -Dtest=OlmBundleTest -Dsurefire.failIfNoSpecifiedTests=false -Dvmesh.olm.write=true";

  @Test
  void manifestsAreWhatTheGeneratorMakes() throws IOException {
    Map<String, String> generated = OlmBundle.generate();
    if (Boolean.getBoolean("vmesh.olm.write")) {
      for (Path stale : InstallManifests.yamlFiles(OlmBundle.MANIFESTS)) {
        Files.delete(stale);
      }
      for (Map.Entry<String, String> file : generated.entrySet()) {
        Files.writeString(OlmBundle.MANIFESTS.resolve(file.getKey()), file.getValue());
      }
    }
    try (Stream<Path> files = Files.list(OlmBundle.MANIFESTS)) {
      assertThat(files.map(f -> f.getFileName().toString())).as(REGENERATE).containsExactlyInAnyOrderElementsOf(generated.keySet());
    }
    for (Map.Entry<String, String> file : generated.entrySet()) {
      assertThat(Files.readString(OlmBundle.MANIFESTS.resolve(file.getKey()))).as(REGENERATE + " (" + file.getKey() + ")")
          .isEqualTo(file.getValue());
    }
  }

  @Test
  void theBundlePassesEveryValidatorRule() {
    assertThat(BundleRules.violations(load())).isEmpty();
  }

  @Test
  void theInjectorHasTheRulesOfDeployAndOnlyAllNamespacesIsSupported() {
    Map<String, Object> spec = map(load().csv(), "spec");
    List<Object> webhooks = list(spec, "webhookdefinitions");
    assertThat(webhooks).hasSize(1);
    Map<String, Object> webhook = cast(webhooks.get(0));
    assertThat(webhook).containsEntry("type", "MutatingAdmissionWebhook").containsEntry("webhookPath", "/inject")
        .containsEntry("targetPort", 9443).containsEntry("sideEffects", "None").containsEntry("failurePolicy", "Fail");
    assertThat(list(webhook, "rules")).singleElement()
        .satisfies(r -> DeployManifestsTest.podCreatesOnly(InstallManifests.SERIALIZATION.convertValue(r, RuleWithOperations.class)));
    assertThat(list(spec, "installModes")).map(BundleRules::cast)
        .filteredOn(m -> Boolean.TRUE.equals(m.get("supported"))).extracting(m -> m.get("type")).containsExactly("AllNamespaces");
  }

  @Test
  void theInstallStrategyGrantsWhatDeployGrantsAndRunsTheSameImage() {
    InstallManifests deploy = InstallManifests.load();
    Map<String, Object> strategy = map(map(map(load().csv(), "spec"), "install"), "spec");
    java.util.Set<OperatorPermissions.Grant> csvGrants = new java.util.TreeSet<>();
    csvGrants.addAll(OperatorPermissions.flatten(OperatorPermissions.CLUSTER, rules(strategy, "clusterPermissions")));
    // OLM creates permissions in the install namespace, which deploy/ calls vmesh-system
    csvGrants.addAll(OperatorPermissions.flatten(DeployManifestsTest.NAMESPACE, rules(strategy, "permissions")));
    assertThat(csvGrants).containsExactlyElementsOf(OperatorPermissions.required(DeployManifestsTest.NAMESPACE));
    Map<String, Object> container = container(load());
    assertThat(container.get("image"))
        .isEqualTo(DeployManifestsTest.operatorContainer(deploy.one(io.fabric8.kubernetes.api.model.apps.Deployment.class)).getImage())
        .isEqualTo(map(map(load().csv(), "metadata"), "annotations").get("containerImage"));
  }

  private static List<io.fabric8.kubernetes.api.model.rbac.PolicyRule> rules(Map<String, Object> strategy, String kind) {
    assertThat(list(strategy, kind)).hasSize(1);
    return list(cast(list(strategy, kind).get(0)), "rules").stream()
        .map(r -> InstallManifests.SERIALIZATION.convertValue(r, io.fabric8.kubernetes.api.model.rbac.PolicyRule.class)).toList();
  }

  /** Each rule, broken once on purpose, is reported: the validator is not a test that cannot fail. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenBundles")
  void eachRuleBites(String rule, UnaryOperator<BundleRules.Bundle> breakIt, String expected) {
    assertThat(BundleRules.violations(breakIt.apply(load()))).anySatisfy(v -> assertThat(v).contains(expected));
  }

  static Stream<Arguments> brokenBundles() {
    return Stream.of(
        broken("no install modes", b -> remove(b, spec(b), "installModes"), "installModes is missing"),
        broken("duplicate install mode", b -> add(b, spec(b), "installModes", Map.of("type", "AllNamespaces", "supported", true)),
            "listed twice"),
        broken("unknown install mode", b -> put(b, cast(list(spec(b), "installModes").get(0)), "type", "Everywhere"), "Everywhere"),
        broken("alm-examples not JSON", b -> put(b, annotations(b), "alm-examples", "[{"), "not a JSON array"),
        broken("alm-examples off schema", b -> put(b, annotations(b), "alm-examples", annotations(b).get("alm-examples").toString()
            .replace("\"REDIRECT\"", "\"SIDEWAYS\"")), "not one of the enum values"),
        broken("alm-examples unknown field", b -> put(b, annotations(b), "alm-examples", annotations(b).get("alm-examples").toString()
            .replace("\"mode\"", "\"moed\"")), "unknown field"),
        broken("alm-examples unowned kind", b -> put(b, annotations(b), "alm-examples", annotations(b).get("alm-examples").toString()
            .replace("\"MeshPolicy\"", "\"MeshPolicies\"")), "which no owned CRD defines"),
        broken("owned CRD not bundled", b -> new BundleRules.Bundle(b.manifestFiles(), b.csv(), b.crds().subList(0, 1),
            b.annotations(), b.dockerfile()), "is not in the bundle"),
        broken("bundled CRD not owned", b -> remove(b, owned(b), 0), "bundled but not owned"),
        broken("no provider", b -> remove(b, spec(b), "provider"), "provider.name is missing"),
        broken("bad maintainer email", b -> put(b, cast(list(spec(b), "maintainers").get(0)), "email", "dev-at-vmesh"),
            "valid email"),
        broken("bad link", b -> put(b, cast(list(spec(b), "links").get(0)), "url", "github.com/vmesh"), "valid http(s) url"),
        broken("no version", b -> remove(b, spec(b), "version"), "is not a semantic version"),
        broken("two icons", b -> add(b, spec(b), "icon", list(spec(b), "icon").get(0)), "exactly one icon"),
        broken("icon without mediatype", b -> remove(b, cast(list(spec(b), "icon").get(0)), "mediatype"), "icon mediatype"),
        broken("icon data not base64", b -> put(b, cast(list(spec(b), "icon").get(0)), "base64data", "<svg>"), "not base64"),
        broken("capability off the list", b -> put(b, annotations(b), "capabilities", "Basic"), "capabilities 'Basic'"),
        broken("category off the list", b -> put(b, annotations(b), "categories", "Networking, Mesh"), "category 'Mesh'"),
        broken("no minKubeVersion", b -> remove(b, spec(b), "minKubeVersion"), "minKubeVersion"),
        broken("empty CRD description", b -> put(b, cast(owned(b).get(0)), "description", ""), "needs a displayName and a description"),
        broken("no conditions descriptor", b -> remove(b, cast(owned(b).get(0)), "statusDescriptors"), CONDITIONS_HINT),
        broken("descriptor off schema", b -> put(b, cast(list(cast(owned(b).get(0)), "specDescriptors").get(0)), "path", "selektor"),
            "is not a field of the CRD"),
        broken("RBAC creates CRDs", b -> add(b, cast(list(strategy(b), "clusterPermissions").get(0)), "rules",
            Map.of("apiGroups", List.of("apiextensions.k8s.io"), "resources", List.of("customresourcedefinitions"),
                "verbs", List.of("create"))), "create CustomResourceDefinitions"),
        broken("no resource requests", b -> remove(b, map(container(b), "resources"), "requests"), "no cpu and memory requests"),
        broken("webhook on every group", b -> put(b, cast(list(cast(list(spec(b), "webhookdefinitions").get(0)), "rules").get(0)),
            "apiGroups", List.of("*")), "intercepts every API group"),
        broken("webhook port not on the container", b -> put(b, cast(list(spec(b), "webhookdefinitions").get(0)), "targetPort", 9444),
            "is no container port"),
        broken("wrong mediatype", b -> put(b, b.annotations(), BundleRules.ANNOTATION_PREFIX + "mediatype.v1", "plain"),
            "mediatype.v1 must be registry+v1"),
        broken("Dockerfile label differs", b -> new BundleRules.Bundle(b.manifestFiles(), b.csv(), b.crds(), b.annotations(),
            b.dockerfile().replace("channels.v1=alpha", "channels.v1=stable")), "differ from annotations.yaml"),
        broken("Dockerfile not from scratch", b -> new BundleRules.Bundle(b.manifestFiles(), b.csv(), b.crds(), b.annotations(),
            b.dockerfile().replace("FROM scratch", "FROM busybox")), "FROM scratch"));
  }

  private static final String CONDITIONS_HINT = BundleRules.CONDITIONS;

  static BundleRules.Bundle load() {
    List<String> files = InstallManifests.yamlFiles(OlmBundle.MANIFESTS).stream().map(f -> f.getFileName().toString()).toList();
    return new BundleRules.Bundle(files, OlmBundle.yaml(OlmBundle.MANIFESTS.resolve(OlmBundle.CSV_FILE)),
        OlmBundle.crdsIn(OlmBundle.MANIFESTS), map(OlmBundle.yaml(OlmBundle.OLM.resolve("metadata/annotations.yaml")), "annotations"),
        OlmBundle.read(OlmBundle.OLM.resolve("bundle.Dockerfile")));
  }

  private static Arguments broken(String rule, UnaryOperator<BundleRules.Bundle> breakIt, String expected) {
    return Arguments.of(rule, breakIt, expected);
  }

  private static Map<String, Object> spec(BundleRules.Bundle b) {
    return map(b.csv(), "spec");
  }

  private static Map<String, Object> annotations(BundleRules.Bundle b) {
    return map(map(b.csv(), "metadata"), "annotations");
  }

  private static List<Object> owned(BundleRules.Bundle b) {
    return list(map(spec(b), "customresourcedefinitions"), "owned");
  }

  private static Map<String, Object> strategy(BundleRules.Bundle b) {
    return map(map(spec(b), "install"), "spec");
  }

  private static Map<String, Object> container(BundleRules.Bundle b) {
    Map<String, Object> deployment = cast(list(strategy(b), "deployments").get(0));
    return cast(list(map(map(map(deployment, "spec"), "template"), "spec"), "containers").get(0));
  }

  /** Each edit changes the loaded bundle in place and hands it on. */
  private static BundleRules.Bundle put(BundleRules.Bundle b, Map<String, Object> target, String key, Object value) {
    target.put(key, value);
    return b;
  }

  private static BundleRules.Bundle remove(BundleRules.Bundle b, Map<String, Object> target, String key) {
    target.remove(key);
    return b;
  }

  private static BundleRules.Bundle remove(BundleRules.Bundle b, List<Object> target, int index) {
    target.remove(index);
    return b;
  }

  private static BundleRules.Bundle add(BundleRules.Bundle b, Map<String, Object> target, String key, Object value) {
    list(target, key).add(value);
    return b;
  }
}
