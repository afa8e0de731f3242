package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy/ applied with the real kubectl to the embedded API server, both ways docs/install.md gives. */
class DeployApplyIT {

  private static final Path REPO = Path.of(System.getProperty("vmesh.repo.dir", ".."));
  private static final Path DEPLOY = REPO.resolve("deploy");

  @TempDir
  Path dir;

  @Test
  void kubectlApplyKustomizeThenPlainFilesCreatesEveryObject() throws Exception {
    Kubectl.requireOnPath();
    String apiserverJar = System.getProperty("vmesh.apiserver.jar");
    assertThat(apiserverJar).as("system property vmesh.apiserver.jar (set by the failsafe configuration)").isNotBlank();
    try (JarProcess apiserver = JarProcess.start("apiserver", Path.of(apiserverJar), dir, Map.of(),
        "--port", "0", "--kubeconfig-out", dir.resolve("kubeconfig").toString())) {
      apiserver.await(Pattern.compile("vmesh-apiserver ready: "), Duration.ofSeconds(30));
      Kubectl kubectl = new Kubectl(dir.resolve("kubeconfig"));

      // one top-level kind per object (nested ones, as in roleRef, are indented)
      List<String> rendered = Arrays.stream(kubectl.ok("kustomize", DEPLOY.toString()).split("\n"))
          .filter(l -> l.startsWith("kind: ")).toList();
      List<String> created = lines(kubectl.ok("apply", "--validate=false", "-k", DEPLOY.toString()));
      assertThat(created).as("kubectl apply -k deploy/").hasSize(rendered.size()).allMatch(l -> l.endsWith(" created"));

      List<String> stored = lines(kubectl.ok("get", "-k", DEPLOY.toString(), "-o", "name"));
      assertThat(stored).hasSize(rendered.size()).contains("deployment.apps/vmesh-operator",
          "mutatingwebhookconfiguration.admissionregistration.k8s.io/vmesh-injector",
          "customresourcedefinition.apiextensions.k8s.io/trafficcaptures.vmesh.io");
      assertThat(kubectl.ok("get", "-n", "vmesh-system", "deployment/vmesh-operator", "-o", "jsonpath={.spec.replicas}"))
          .isEqualTo("2");

      // the plain-files path of docs/install.md, over the same objects: nothing new, nothing failing
      List<String> again = lines(kubectl.ok("apply", "--validate=false", "-f", DEPLOY.resolve("crds").toString(),
          "-f", DEPLOY.resolve("operator").toString()));
      assertThat(again).hasSize(rendered.size()).noneMatch(l -> l.endsWith(" created"));
    }
  }

  private static List<String> lines(String output) {
    return Arrays.stream(output.split("\n")).map(String::strip).filter(l -> !l.isEmpty()).toList();
  }
}
