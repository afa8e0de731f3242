package io.vmesh.sandbox.controllers;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Every namespace has a ServiceAccount {@code default}, as the service account controller makes it (pods run as it). */
public final class ServiceAccountController {

  private static final Logger LOG = LoggerFactory.getLogger(ServiceAccountController.class);

  private final KubernetesClient client;

  public ServiceAccountController(KubernetesClient client) {
    this.client = client;
  }

  public void sync() {
    Set<String> have = new HashSet<>();
    for (ServiceAccount sa : client.serviceAccounts().inAnyNamespace().list().getItems()) {
      if ("default".equals(sa.getMetadata().getName())) {
        have.add(sa.getMetadata().getNamespace());
      }
    }
    for (Namespace ns : client.namespaces().list().getItems()) {
      String name = ns.getMetadata().getName();
      if (have.contains(name) || ns.getMetadata().getDeletionTimestamp() != null) {
        continue;
      }
      try {
        client.serviceAccounts().inNamespace(name).resource(new ServiceAccountBuilder().withNewMetadata().withName("default")
            .withNamespace(name).endMetadata().build()).create();
        LOG.info("namespace {}: created service account default", name);
      } catch (KubernetesClientException e) {
        LOG.debug("namespace {}: service account default not created: {}", name, e.getMessage());
      }
    }
  }
}
