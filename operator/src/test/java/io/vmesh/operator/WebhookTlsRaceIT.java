package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.vmesh.operator.webhook.WebhookCertificates;
import io.vmesh.operator.webhook.WebhookTls;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two operator replicas start at once against an empty cluster: both try to create the webhook's Secret and
 * configuration. The loser of each race must read the winner's certificates instead of failing or keeping its own,
 * or the replicas would serve certificates of two CAs while the caBundle names one.
 */
class WebhookTlsRaceIT {

  @TempDir
  Path dir;

  @Test
  void replicasStartingTogetherEndWithOneCaAndTheConfigurationTrustsIt() throws Exception {
    try (JarProcess apiserver = JarProcess.start("apiserver", Path.of(System.getProperty("vmesh.apiserver.jar")), dir, Map.of(),
        "--port", "0", "--kubeconfig-out", dir.resolve("kubeconfig").toString())) {
      apiserver.await(Pattern.compile("vmesh-apiserver ready: "), Duration.ofSeconds(30));
      Config config = Config.fromKubeconfig(Files.readString(dir.resolve("kubeconfig")));
      List<KubernetesClient> clients = new ArrayList<>();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        for (int i = 0; i < 4; i++) {
          clients.add(new KubernetesClientBuilder().withConfig(config).build());
        }
        clients.get(0).namespaces().resource(new NamespaceBuilder().withNewMetadata().withName("vmesh-system").endMetadata().build()).create();
        for (int round = 0; round < 5; round++) {
          String secret = "vmesh-webhook-tls-" + round;
          String configuration = "vmesh-injector-" + round;
          CyclicBarrier start = new CyclicBarrier(clients.size());
          List<Future<WebhookCertificates>> results = new ArrayList<>();
          for (KubernetesClient client : clients) {
            WebhookTls tls = new WebhookTls(client, Clock.systemUTC(), "vmesh-system", secret, "vmesh-operator", 9443, configuration, "Fail");
            results.add(pool.submit(() -> {
              start.await(10, TimeUnit.SECONDS);
              return tls.reconcile();
            }));
          }
          List<String> cas = new ArrayList<>();
          for (Future<WebhookCertificates> r : results) {
            cas.add(r.get(60, TimeUnit.SECONDS).caCertPem());
          }
          String stored = WebhookCertificates.fromSecretData(
              clients.get(0).secrets().inNamespace("vmesh-system").withName(secret).get().getData()).caCertPem();
          assertThat(cas).as("round %d: every replica serves the CA kept in the Secret", round).allMatch(stored::equals);
          MutatingWebhookConfiguration written = clients.get(0).admissionRegistration().v1().mutatingWebhookConfigurations()
              .withName(configuration).get();
          assertThat(new String(Base64.getDecoder().decode(written.getWebhooks().get(0).getClientConfig().getCaBundle()), StandardCharsets.US_ASCII))
              .as("round %d: the caBundle is that CA", round).isEqualTo(stored);
        }
      } finally {
        pool.shutdownNow();
        clients.forEach(KubernetesClient::close);
      }
    }
  }
}
