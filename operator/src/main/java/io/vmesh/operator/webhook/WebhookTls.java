package io.vmesh.operator.webhook;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the webhook's CA and serving certificate in a Secret, renews them before they expire, and keeps the
 * MutatingWebhookConfiguration (with that CA as caBundle) as {@link WebhookConfiguration} says. Blocking API calls:
 * run it on a worker thread, never on an event loop.
 */
public final class WebhookTls {

  private static final Logger LOG = LoggerFactory.getLogger(WebhookTls.class);

  private final KubernetesClient client;
  private final Clock clock;
  private final String namespace;
  private final String secretName;
  private final String serviceName;
  private final int port;
  private final String configurationName;
  private final String failurePolicy;
  private final List<String> otherServices;

  public WebhookTls(KubernetesClient client, Clock clock, String namespace, String secretName, String serviceName, int port,
      String configurationName, String failurePolicy) {
    this(client, clock, namespace, secretName, serviceName, port, configurationName, failurePolicy, List.of());
  }

  /**
   * @param port the Service's port the API server calls (not the container's)
   * @param otherServices more Services of the namespace in front of the same pods whose names the certificate covers
   *     (xDS over TLS shares the certificate)
   */
  public WebhookTls(KubernetesClient client, Clock clock, String namespace, String secretName, String serviceName, int port,
      String configurationName, String failurePolicy, List<String> otherServices) {
    this.otherServices = List.copyOf(otherServices);
    this.client = client;
    this.clock = clock;
    this.namespace = namespace;
    this.secretName = secretName;
    this.serviceName = serviceName;
    this.port = port;
    this.configurationName = configurationName;
    this.failurePolicy = failurePolicy;
  }

  /** The DNS names clients use for the Services (the webhook's first), and loopback for local clients. */
  public List<String> names() {
    List<String> names = new java.util.ArrayList<>();
    for (String service : java.util.stream.Stream.concat(java.util.stream.Stream.of(serviceName), otherServices.stream()).toList()) {
      names.add(service + "." + namespace + ".svc");
      names.add(service + "." + namespace + ".svc.cluster.local");
    }
    names.add("localhost");
    names.add("127.0.0.1");
    return List.copyOf(names);
  }

  /**
   * Reads, renews if needed and writes back the certificates, then brings the webhook configuration in line. Two
   * replicas may do this at once: the loser of a create or update race (409 Conflict) reads again and takes the
   * winner's certificates, so both serve the same CA.
   */
  public WebhookCertificates reconcile() {
    return retried(true);
  }

  /**
   * Reads, renews if needed and writes back the certificates only: what the xDS TLS listener (same Service, same
   * names) needs when the webhook is off.
   */
  public WebhookCertificates certificates() {
    return retried(false);
  }

  private WebhookCertificates retried(boolean withConfiguration) {
    for (int attempt = 1; ; attempt++) {
      try {
        return reconcileOnce(withConfiguration);
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt == 5) {
          throw e;
        }
        LOG.info("another writer changed the webhook Secret or configuration first ({}); reading again", e.getStatus() == null ? "409" : e.getStatus().getMessage());
      }
    }
  }

  private WebhookCertificates reconcileOnce(boolean withConfiguration) {
    Secret secret = client.secrets().inNamespace(namespace).withName(secretName).get();
    WebhookCertificates current = null;
    if (secret != null) {
      try {
        current = WebhookCertificates.fromSecretData(secret.getData());
      } catch (IllegalArgumentException e) {
        LOG.warn("Secret {}/{} does not hold usable certificates ({}); issuing new ones", namespace, secretName, e.getMessage());
      }
    }
    WebhookCertificates next = current == null ? WebhookCertificates.issue(names(), clock) : current.renewIfNeeded(names(), clock);
    if (next != current) {
      Secret desired = new SecretBuilder()
          .withNewMetadata().withName(secretName).withNamespace(namespace).addToLabels("app.kubernetes.io/managed-by", "vmesh-operator")
          .endMetadata()
          .withType("Opaque")
          .withData(next.toSecretData())
          .build();
      if (secret == null) {
        client.secrets().inNamespace(namespace).resource(desired).create();
      } else {
        desired.getMetadata().setResourceVersion(secret.getMetadata().getResourceVersion());
        client.secrets().inNamespace(namespace).resource(desired).update();
      }
      LOG.info("webhook certificate {} (valid until {}), kept in Secret {}/{}", current == null ? "issued" : "renewed",
          next.servingCertificate().getNotAfter().toInstant(), namespace, secretName);
    }
    if (!withConfiguration) {
      return next;
    }
    MutatingWebhookConfiguration desired = WebhookConfiguration.desired(configurationName, namespace, serviceName, port, next.caBundlePem(clock.instant()),
        failurePolicy);
    var configurations = client.admissionRegistration().v1().mutatingWebhookConfigurations();
    MutatingWebhookConfiguration existing = configurations.withName(configurationName).get();
    if (existing == null) {
      configurations.resource(desired).create();
      LOG.info("created MutatingWebhookConfiguration {}", configurationName);
    } else if (!desired.getWebhooks().equals(existing.getWebhooks())) {
      desired.getMetadata().setResourceVersion(existing.getMetadata().getResourceVersion());
      configurations.resource(desired).update();
      LOG.info("updated MutatingWebhookConfiguration {} (caBundle or rules)", configurationName);
    }
    return next;
  }
}
