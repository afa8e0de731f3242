package io.vmesh.operator.install;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.RuleWithOperations;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.vmesh.operator.RunCommand;
import io.vmesh.operator.webhook.WebhookServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Option;

/** deploy/ read with fabric8: every reference resolves, and RBAC is exactly what the operator's code calls. */
class DeployManifestsTest {

  static final String NAMESPACE = "vmesh-system";
  private static final String HOW_TO_FIX = "deploy/crds/ must be a copy of crds/ (kustomize reads no file outside deploy/): "
      + "cp crds/*.yaml deploy/crds/";

  private final InstallManifests deploy = InstallManifests.load();

  @Test
  void crdsAreCopiesOfTheGeneratedOnes() throws IOException {
    List<Path> generated = InstallManifests.yamlFiles(InstallManifests.REPO.resolve("crds"));
    List<Path> copies = InstallManifests.yamlFiles(InstallManifests.DEPLOY.resolve("crds"));
    assertThat(copies.stream().map(p -> p.getFileName().toString())).as(HOW_TO_FIX)
        .containsExactlyElementsOf(generated.stream().map(p -> p.getFileName().toString()).toList());
    for (Path crd : generated) {
      assertThat(Files.readString(InstallManifests.DEPLOY.resolve("crds").resolve(crd.getFileName())))
          .as(HOW_TO_FIX + " (" + crd.getFileName() + ")").isEqualTo(Files.readString(crd));
    }
  }

  @Test
  void kustomizationListsEveryManifestOnce() throws IOException {
    Map<String, Object> kustomization = InstallManifests.SERIALIZATION.unmarshal(
        Files.readString(InstallManifests.DEPLOY.resolve("kustomization.yaml")), Map.class);
    @SuppressWarnings("unchecked")
    List<String> resources = (List<String>) kustomization.get("resources");
    try (Stream<Path> files = Stream.concat(Files.list(InstallManifests.DEPLOY.resolve("crds")),
        Files.list(InstallManifests.DEPLOY.resolve("operator")))) {
      assertThat(resources).as("deploy/kustomization.yaml resources")
          .containsExactlyInAnyOrderElementsOf(files.map(f -> InstallManifests.DEPLOY.relativize(f).toString()).toList());
    }
  }

  /** kubectl apply -f takes files in name order: what an object needs must come first, the webhook last. */
  @Test
  void filesApplyInDependencyOrder() {
    List<String> order = List.of("CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
        "Role", "RoleBinding", "Service", "Deployment", "PodDisruptionBudget", "MutatingWebhookConfiguration");
    List<Integer> ranks = deploy.all().stream().map(o -> order.indexOf(o.getKind())).toList();
    assertThat(ranks).as("kinds in file order " + deploy.all().stream().map(HasMetadata::getKind).toList())
        .doesNotContain(-1).isSortedAccordingTo(Integer::compare);
  }

  @Test
  void namespacedObjectsLiveInTheOperatorNamespaceWhichIsTheOperatorDefault() throws Exception {
    assertThat(deploy.one(Namespace.class).getMetadata().getName()).isEqualTo(NAMESPACE);
    assertThat(option("namespace").defaultValue()).as("RunCommand --namespace default").contains(":-" + NAMESPACE + "}");
    for (HasMetadata o : deploy.all()) {
      boolean clusterScoped = o instanceof Namespace || o instanceof CustomResourceDefinition
          || o instanceof MutatingWebhookConfiguration || o.getKind().startsWith("Cluster");
      assertThat(o.getMetadata().getNamespace()).as(o.getKind() + " " + o.getMetadata().getName())
          .isEqualTo(clusterScoped ? null : NAMESPACE);
    }
  }

  @Test
  void theDeploymentRunsTwoNonRootReplicasWithLeaderElectionProbesAndLimits() throws Exception {
    Deployment deployment = deploy.one(Deployment.class);
    var pod = deployment.getSpec().getTemplate().getSpec();
    assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
    assertThat(deploy.named(ServiceAccount.class, pod.getServiceAccountName())).as("the pod's ServiceAccount").isPresent();
    assertThat(deployment.getSpec().getTemplate().getMetadata().getLabels())
        .containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels());
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(pod.getSecurityContext().getRunAsUser()).isPositive();

    Container operator = operatorContainer(deployment);
    assertThat(operator.getArgs()).first().isEqualTo("run");
    assertThat(operator.getArgs()).contains("--leader-election").doesNotContain("--no-leader-election");
    assertThat(operator.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(operator.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
    assertThat(operator.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    for (String resource : List.of("cpu", "memory")) {
      Quantity request = operator.getResources().getRequests().get(resource);
      Quantity limit = operator.getResources().getLimits().get(resource);
      assertThat(request).as(resource + " request").isNotNull();
      assertThat(limit).as(resource + " limit").isNotNull();
      assertThat(limit.getNumericalAmount()).as(resource + " limit >= request").isGreaterThanOrEqualTo(request.getNumericalAmount());
    }
    // the ports the probes reach are the ones RunCommand serves by default and the args set
    int healthPort = Integer.parseInt(option("healthPort").defaultValue());
    assertThat(operator.getArgs()).contains("--health-port=" + healthPort);
    assertThat(operator.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
    assertThat(operator.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
    assertThat(containerPort(operator, operator.getLivenessProbe().getHttpGet().getPort())).isEqualTo(healthPort);
    assertThat(containerPort(operator, operator.getReadinessProbe().getHttpGet().getPort())).isEqualTo(healthPort);
    // RunCommand reads these two for the namespace and the Lease identity
    assertThat(operator.getEnv()).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("POD_NAMESPACE");
      assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.namespace");
    });
    assertThat(operator.getEnv()).anySatisfy(e -> {
      assertThat(e.getName()).isEqualTo("POD_NAME");
      assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
    });
  }

  @Test
  void servicesAndTheBudgetSelectTheOperatorPodsAndReachDeclaredPorts() {
    Deployment deployment = deploy.one(Deployment.class);
    Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
    Container operator = operatorContainer(deployment);
    Map<String, int[]> expected = Map.of("vmesh-webhook", new int[] {443, 9443},
        "vmesh-xds", new int[] {15010, 15010, 15012, 15012});
    assertThat(deploy.all(Service.class)).extracting(s -> s.getMetadata().getName())
        .containsExactlyInAnyOrderElementsOf(expected.keySet());
    for (Service service : deploy.all(Service.class)) {
      String name = service.getMetadata().getName();
      assertThat(podLabels).as(name + " selector").containsAllEntriesOf(service.getSpec().getSelector());
      List<ServicePort> ports = service.getSpec().getPorts();
      int[] pairs = expected.get(name);
      assertThat(ports).as(name + " ports").hasSize(pairs.length / 2);
      for (int i = 0; i < ports.size(); i++) {
        assertThat(ports.get(i).getPort()).as(name + " port").isEqualTo(pairs[2 * i]);
        assertThat(containerPort(operator, ports.get(i).getTargetPort())).as(name + " targetPort").isEqualTo(pairs[2 * i + 1]);
      }
    }
    PodDisruptionBudget budget = deploy.one(PodDisruptionBudget.class);
    assertThat(podLabels).containsAllEntriesOf(budget.getSpec().getSelector().getMatchLabels());
    assertThat(budget.getSpec().getMinAvailable().getIntVal()).isBetween(1, deployment.getSpec().getReplicas() - 1);
  }

  @Test
  void theInjectorWebhookCallsTheWebhookServiceForPodCreatesInOptedInNamespaces() {
    MutatingWebhook webhook = injector(deploy.one(MutatingWebhookConfiguration.class));
    var target = webhook.getClientConfig().getService();
    Service service = deploy.named(Service.class, target.getName()).orElseThrow();
    assertThat(target.getNamespace()).isEqualTo(service.getMetadata().getNamespace());
    assertThat(service.getSpec().getPorts()).extracting(ServicePort::getPort).contains(target.getPort());
    assertThat(target.getPath()).as("the path WebhookServer serves").isEqualTo(WebhookServer.PATH);
    assertThat(webhook.getClientConfig().getUrl()).isNull();
    assertThat(webhook.getSideEffects()).isEqualTo("None");
    assertThat(webhook.getFailurePolicy()).isEqualTo("Fail");
    assertThat(webhook.getAdmissionReviewVersions()).containsExactly("v1");
    assertThat(webhook.getNamespaceSelector().getMatchLabels()).containsExactlyEntriesOf(Map.of("vmesh.io/injection", "enabled"));
    assertThat(webhook.getRules()).singleElement().satisfies(DeployManifestsTest::podCreatesOnly);
    // the operator rewrites the configuration to what it wants: deploy/ must already say the same, or the first
    // start would change it (and a Service name the operator gets wrong would break injection on a real cluster)
    MutatingWebhook wanted = injector(io.vmesh.operator.webhook.WebhookConfiguration.desired("vmesh-injector", NAMESPACE,
        target.getName(), target.getPort(), "unused", "Fail"));
    wanted.getClientConfig().setCaBundle(null);
    webhook.getClientConfig().setCaBundle(null);
    assertThat(webhook).as("deploy/operator/60-webhook.yaml against WebhookConfiguration.desired").isEqualTo(wanted);
    String runDefaults = String.join(" ", new picocli.CommandLine(new io.vmesh.operator.RunCommand())
        .getCommandSpec().options().stream().filter(o -> o.longestName().startsWith("--webhook-service") || o.longestName().equals("--xds-service"))
        .map(o -> o.longestName() + "=" + o.defaultValue()).sorted().toList());
    assertThat(runDefaults).as("run's defaults name deploy/'s Services")
        .isEqualTo("--webhook-service-port=" + target.getPort() + " --webhook-service=" + target.getName() + " --xds-service=vmesh-xds");
    assertThat(deploy.named(Service.class, "vmesh-xds")).isPresent();
    assertThat(io.vmesh.operator.inject.InjectionSettings.DEFAULT_XDS_ADDRESS).as("injected proxies dial deploy/'s xDS Service")
        .isEqualTo("vmesh-xds." + NAMESPACE + ".svc:15012");
    Service xds = deploy.named(Service.class, "vmesh-xds").orElseThrow();
    assertThat(xds.getSpec().getPorts()).extracting(ServicePort::getPort).as("the injected address's port is the Service's TLS port")
        .contains(15012);
  }

  @Test
  void rbacGrantsExactlyWhatTheOperatorCalls() {
    Deployment deployment = deploy.one(Deployment.class);
    String account = deployment.getSpec().getTemplate().getSpec().getServiceAccountName();
    assertThat(OperatorPermissions.granted(deploy.all(), account, NAMESPACE))
        .as("RBAC bound to ServiceAccount %s/%s (missing or extra grants; update deploy/operator/20-rbac.yaml, "
            + "OperatorPermissions and docs/install.md together)", NAMESPACE, account)
        .containsExactlyElementsOf(OperatorPermissions.required(NAMESPACE));
  }

  /** The one rule both deploy/ and the CSV must carry: pods, CREATE, core group only (never every group). */
  static void podCreatesOnly(RuleWithOperations rule) {
    assertThat(rule.getOperations()).containsExactly("CREATE");
    assertThat(rule.getApiGroups()).containsExactly("");
    assertThat(rule.getApiVersions()).containsExactly("v1");
    assertThat(rule.getResources()).containsExactly("pods");
  }

  static MutatingWebhook injector(MutatingWebhookConfiguration configuration) {
    assertThat(configuration.getWebhooks()).hasSize(1);
    return configuration.getWebhooks().get(0);
  }

  static Container operatorContainer(Deployment deployment) {
    List<Container> containers = deployment.getSpec().getTemplate().getSpec().getContainers();
    assertThat(containers).as("containers of " + deployment.getMetadata().getName()).hasSize(1);
    return containers.get(0);
  }

  /** The container port a probe or Service port names (by name or number); fails when the container has none. */
  static int containerPort(Container container, IntOrString port) {
    return container.getPorts().stream()
        .filter(p -> port.getIntVal() != null ? port.getIntVal().equals(p.getContainerPort()) : port.getStrVal().equals(p.getName()))
        .map(ContainerPort::getContainerPort)
        .findFirst()
        .orElseThrow(() -> new AssertionError("container " + container.getName() + " declares no port " + port));
  }

  private static Option option(String field) throws NoSuchFieldException {
    return RunCommand.class.getDeclaredField(field).getAnnotation(Option.class);
  }
}
