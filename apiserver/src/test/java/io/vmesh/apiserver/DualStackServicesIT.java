package io.vmesh.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Dual-stack Services through the real kubectl and a fabric8 client against the jar run as a process. */
class DualStackServicesIT extends AgainstServer {

  private KubernetesClient client;

  @BeforeAll
  void start() throws Exception {
    client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(Files.readString(server.kubeconfig))).build();
  }

  @AfterAll
  void stop() {
    if (client != null) {
      client.close();
    }
  }

  private String file(String name, String yaml) throws Exception {
    Path f = dir.resolve(name);
    Files.writeString(f, yaml);
    return f.toString();
  }

  private static String svc(String name, String extra) {
    return """
        apiVersion: v1
        kind: Service
        metadata:
          name: %s
          namespace: default
        spec:
          selector: {app: %s}
        %s  ports:
          - {name: http, port: 80, targetPort: 8080}
        """.formatted(name, name, extra);
  }

  @Test
  void kubectlCreatesDualStackServicesAndShowsTheFieldErrorsOfBadOnes() throws Exception {
    kubectl.ok("apply", "--validate=false", "-f", file("web.yaml", svc("web", "  ipFamilyPolicy: PreferDualStack\n")));
    String ips = kubectl.ok("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP} {.spec.clusterIPs} {.spec.ipFamilies} {.spec.ipFamilyPolicy}").out();
    assertThat(ips).matches("10\\.96\\.\\d+\\.\\d+ \\[\"10\\.96\\.\\d+\\.\\d+\",\"fd00:10:96::[0-9a-f]+\"\\] \\[\"IPv4\",\"IPv6\"\\] PreferDualStack");

    kubectl.ok("apply", "--validate=false", "-f", file("v6.yaml", svc("v6", "  ipFamilies: [IPv6]\n")));
    assertThat(kubectl.ok("get", "svc", "v6", "-o", "jsonpath={.spec.clusterIPs} {.spec.ipFamilyPolicy}").out())
        .matches("\\[\"fd00:10:96::[0-9a-f]+\"\\] SingleStack");

    // a second apply of the same file (no clusterIP in it) keeps the addresses
    String before = kubectl.ok("get", "svc", "web", "-o", "jsonpath={.spec.clusterIPs}").out();
    kubectl.ok("apply", "--validate=false", "-f", file("web.yaml", svc("web", "  ipFamilyPolicy: PreferDualStack\n")));
    assertThat(kubectl.ok("get", "svc", "web", "-o", "jsonpath={.spec.clusterIPs}").out()).isEqualTo(before);

    Kubectl.Result bad = kubectl.run("apply", "--validate=false", "-f", file("bad.yaml", svc("bad", "  ipFamilyPolicy: DualStack\n")));
    assertThat(bad.exit()).isNotZero();
    assertThat(bad.err()).contains("The Service \"bad\" is invalid: spec.ipFamilyPolicy: Unsupported value: \"DualStack\"");
    assertThat(kubectl.run("get", "svc", "bad").exit()).as("a refused Service is not stored").isNotZero();

    Kubectl.Result single = kubectl.run("apply", "--validate=false", "-f",
        file("two.yaml", svc("two", "  ipFamilies: [IPv4, IPv6]\n")));
    assertThat(single.err()).contains("The Service \"two\" is invalid: spec.ipFamilyPolicy: Invalid value: \"SingleStack\"");

    // the primary address never changes
    Kubectl.Result moved = kubectl.run("patch", "svc", "web", "--type=merge", "-p",
        "{\"spec\":{\"clusterIP\":\"10.96.9.9\",\"clusterIPs\":[\"10.96.9.9\"]}}");
    assertThat(moved.exit()).isNotZero();
    assertThat(moved.err()).contains("The Service \"web\" is invalid: spec.clusterIPs[0]: Invalid value", "may not change once set");
    assertThat(kubectl.ok("get", "svc", "web", "-o", "jsonpath={.spec.clusterIPs}").out()).isEqualTo(before);
  }

  @Test
  void fabric8ReadsTheFieldsAndAnUpgradeToDualStackGetsItsSecondAddress() {
    Service created = client.services().inNamespace("default").resource(new ServiceBuilder()
        .withNewMetadata().withName("up").endMetadata()
        .withNewSpec().addToSelector("app", "up").addNewPort().withPort(9080).endPort().endSpec().build()).create();
    assertThat(created.getSpec().getIpFamilies()).containsExactly("IPv4");
    assertThat(created.getSpec().getIpFamilyPolicy()).isEqualTo("SingleStack");
    Service upgraded = client.services().inNamespace("default").withName("up")
        .edit(s -> new ServiceBuilder(s).editSpec().withIpFamilyPolicy("RequireDualStack").withIpFamilies().endSpec().build());
    assertThat(upgraded.getSpec().getClusterIPs()).hasSize(2).first().isEqualTo(created.getSpec().getClusterIP());
    assertThat(upgraded.getSpec().getClusterIPs().get(1)).startsWith("fd00:10:96::");
    assertThat(upgraded.getSpec().getIpFamilies()).containsExactly("IPv4", "IPv6");
    KubernetesClientException e = org.junit.jupiter.api.Assertions.assertThrows(KubernetesClientException.class,
        () -> client.services().inNamespace("default").resource(new ServiceBuilder().withNewMetadata().withName("taken").endMetadata()
            .withNewSpec().withClusterIP(created.getSpec().getClusterIP()).addNewPort().withPort(80).endPort().endSpec().build()).create());
    assertThat(e.getCode()).isEqualTo(422);
    assertThat(e.getStatus().getDetails().getCauses()).singleElement()
        .satisfies(c -> assertThat(c.getField()).isEqualTo("spec.clusterIPs[0]"));
    assertThatThrownBy(() -> client.services().inNamespace("default").withName("taken").require()).isNotNull();
  }
}
