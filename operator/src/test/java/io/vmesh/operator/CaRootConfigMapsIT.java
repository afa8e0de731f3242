package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.vmesh.operator.inject.InjectionSettings;
import io.vmesh.operator.webhook.CaRootConfigMaps;
import io.vmesh.operator.webhook.WebhookCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CA of xDS over TLS published into injection-enabled namespaces against the embedded API server: written when a
 * namespace is enabled, never into system or other namespaces, restored when deleted or edited, rewritten on rotation.
 */
class CaRootConfigMapsIT {

  private static final String NAME = InjectionSettings.DEFAULT_XDS_CA_CONFIGMAP;

  @TempDir
  Path dir;

  @Test
  void keepsTheCaInEveryEnabledNamespace() throws Exception {
    try (JarProcess apiserver = JarProcess.start("apiserver", Path.of(System.getProperty("vmesh.apiserver.jar")), dir, Map.of(),
        "--port", "0", "--kubeconfig-out", dir.resolve("kubeconfig").toString())) {
      apiserver.await(Pattern.compile("vmesh-apiserver ready: "), Duration.ofSeconds(30));
      Config config = Config.fromKubeconfig(Files.readString(dir.resolve("kubeconfig")));
      try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
        namespace(client, "shop", true);
        namespace(client, "plain", false);
        namespace(client, "vmesh-system", true);
        String first = WebhookCertificates.issue(List.of("vmesh-xds.vmesh-system.svc"), Clock.systemUTC()).caBundlePem(Instant.now());
        String second = WebhookCertificates.issue(List.of("vmesh-xds.vmesh-system.svc"), Clock.systemUTC()).caBundlePem(Instant.now());
        try (CaRootConfigMaps roots = new CaRootConfigMaps(client, NAME, InjectionSettings.DEFAULT_SYSTEM_NAMESPACES).start(first)) {
          await(client, "shop", first::equals);
          namespace(client, "later", true);
          await(client, "later", first::equals);

          client.configMaps().inNamespace("shop").withName(NAME).delete();
          await(client, "shop", first::equals);
          client.configMaps().inNamespace("later").withName(NAME).edit(cm -> {
            cm.setData(Map.of(CaRootConfigMaps.KEY, "edited by hand"));
            return cm;
          });
          await(client, "later", first::equals);

          roots.update(second);
          await(client, "shop", second::equals);
          await(client, "later", second::equals);
          assertThatThrownBy(() -> roots.update("not a certificate")).isInstanceOf(IllegalArgumentException.class)
              .hasMessageContaining("not a PEM certificate");
          Thread.sleep(1000);
          assertThat(data(client, "shop")).isEqualTo(second);
          assertThat(client.configMaps().inNamespace("plain").withName(NAME).get()).as("plain is not enabled").isNull();
          assertThat(client.configMaps().inNamespace("vmesh-system").withName(NAME).get()).as("a system namespace").isNull();
        }
      }
    }
  }

  private static void namespace(KubernetesClient client, String name, boolean enabled) {
    client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name)
        .withLabels(enabled ? Map.of("vmesh.io/injection", "enabled") : Map.of()).endMetadata().build()).create();
  }

  private static String data(KubernetesClient client, String namespace) {
    ConfigMap cm = client.configMaps().inNamespace(namespace).withName(NAME).get();
    return cm == null || cm.getData() == null ? null : cm.getData().get(CaRootConfigMaps.KEY);
  }

  private static void await(KubernetesClient client, String namespace, Predicate<String> content) throws InterruptedException {
    Instant deadline = Instant.now().plusSeconds(30);
    String last = null;
    while (Instant.now().isBefore(deadline)) {
      last = data(client, namespace);
      if (last != null && content.test(last)) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("ConfigMap " + namespace + "/" + NAME + " never held the expected CA; last: " + last);
  }
}
