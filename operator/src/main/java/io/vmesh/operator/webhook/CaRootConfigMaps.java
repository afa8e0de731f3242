package io.vmesh.operator.webhook;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vmesh.operator.inject.InjectionDecision;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the ConfigMap {@code vmesh-ca-root-cert} (key {@code root-cert.pem}: the CA bundle that signs the operator's
 * xDS certificate) in every namespace labelled {@code vmesh.io/injection: enabled}, as istiod keeps
 * {@code istio-ca-root-cert}: injected proxies mount it to verify xDS on :15012. Written when a namespace gets the
 * label, when the ConfigMap is deleted or edited, and when the CA rotates; left in place when the label goes (a
 * running pod may still mount it). API calls run on one thread of their own, never on the informers' threads.
 */
public final class CaRootConfigMaps implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(CaRootConfigMaps.class);
  public static final String KEY = io.vmesh.operator.inject.SidecarContainers.CA_KEY;
  static final String MANAGED_BY = "app.kubernetes.io/managed-by";
  static final String OPERATOR = "vmesh-operator";

  private final KubernetesClient client;
  private final String name;
  private final Set<String> systemNamespaces;
  private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> new Thread(r, "vmesh-ca-root-cert"));
  private volatile String pem;
  private SharedIndexInformer<Namespace> namespaces;
  private SharedIndexInformer<ConfigMap> configMaps;

  public CaRootConfigMaps(KubernetesClient client, String name, Set<String> systemNamespaces) {
    this.client = client;
    this.name = Objects.requireNonNull(name, "name");
    this.systemNamespaces = Set.copyOf(systemNamespaces);
  }

  /** Starts writing {@code caBundlePem} everywhere injection is enabled, and keeps it there. */
  public CaRootConfigMaps start(String caBundlePem) {
    pem = requirePem(caBundlePem);
    // assigned before it runs: its first events arrive during run(), and ensure() reads its store
    namespaces = client.namespaces().runnableInformer(10 * 60 * 1000L);
    namespaces.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(Namespace ns) {
        submit(ns.getMetadata().getName());
      }

      @Override
      public void onUpdate(Namespace before, Namespace after) {
        submit(after.getMetadata().getName());
      }

      @Override
      public void onDelete(Namespace ns, boolean unknownFinalState) {
      }
    });
    namespaces.run();
    configMaps = client.configMaps().inAnyNamespace().withLabel(MANAGED_BY, OPERATOR).inform(new ResourceEventHandler<>() {
      @Override
      public void onAdd(ConfigMap cm) {
        check(cm);
      }

      @Override
      public void onUpdate(ConfigMap before, ConfigMap after) {
        check(after);
      }

      @Override
      public void onDelete(ConfigMap cm, boolean unknownFinalState) {
        if (name.equals(cm.getMetadata().getName())) {
          submit(cm.getMetadata().getNamespace());
        }
      }
    });
    LOG.info("keeping ConfigMap {} (key {}) in every namespace labelled {}={}", name, KEY, InjectionDecision.NAMESPACE_LABEL,
        InjectionDecision.NAMESPACE_ENABLED);
    return this;
  }

  /** A renewed CA bundle: rewritten in every enabled namespace when it differs. */
  public void update(String caBundlePem) {
    String next = requirePem(caBundlePem);
    if (next.equals(pem)) {
      return;
    }
    pem = next;
    LOG.info("CA bundle changed: rewriting ConfigMap {} in every enabled namespace", name);
    namespaces.getStore().list().forEach(ns -> submit(ns.getMetadata().getName()));
  }

  /** Whether the operator writes the ConfigMap into this namespace. */
  public static boolean enabled(Namespace ns, Set<String> systemNamespaces) {
    Map<String, String> labels = ns.getMetadata().getLabels();
    return labels != null && InjectionDecision.NAMESPACE_ENABLED.equals(labels.get(InjectionDecision.NAMESPACE_LABEL))
        && !systemNamespaces.contains(ns.getMetadata().getName()) && ns.getMetadata().getDeletionTimestamp() == null;
  }

  /** The ConfigMap as the operator writes it. */
  public static ConfigMap desired(String name, String namespace, String caBundlePem) {
    return new ConfigMapBuilder()
        .withNewMetadata().withName(name).withNamespace(namespace).addToLabels(MANAGED_BY, OPERATOR).endMetadata()
        .withData(Map.of(KEY, caBundlePem))
        .build();
  }

  private void check(ConfigMap cm) {
    if (name.equals(cm.getMetadata().getName()) && (cm.getData() == null || !pem.equals(cm.getData().get(KEY)))) {
      submit(cm.getMetadata().getNamespace());
    }
  }

  private void submit(String namespace) {
    if (!writer.isShutdown()) {
      writer.execute(() -> ensure(namespace));
    }
  }

  private void ensure(String namespace) {
    Namespace ns = namespaces.getStore().getByKey(namespace);
    if (ns == null || !enabled(ns, systemNamespaces)) {
      return;
    }
    String bundle = pem;
    var configMaps = client.configMaps().inNamespace(namespace);
    try {
      ConfigMap existing = configMaps.withName(name).get();
      ConfigMap desired = desired(name, namespace, bundle);
      if (existing == null) {
        configMaps.resource(desired).create();
        LOG.info("created ConfigMap {}/{} with the xDS CA bundle", namespace, name);
      } else if (existing.getData() == null || !bundle.equals(existing.getData().get(KEY))) {
        desired.getMetadata().setResourceVersion(existing.getMetadata().getResourceVersion());
        configMaps.resource(desired).update();
        LOG.info("updated ConfigMap {}/{} with the xDS CA bundle", namespace, name);
      }
    } catch (KubernetesClientException e) {
      // another replica wrote it first (409), or the namespace is going away: the next event or resync settles it
      LOG.info("ConfigMap {}/{} not written ({}): trying again at the next change", namespace, name, e.getMessage());
    }
  }

  private static String requirePem(String pem) {
    if (pem == null || !pem.contains("-----BEGIN CERTIFICATE-----")) {
      throw new IllegalArgumentException("the xDS CA bundle is not a PEM certificate");
    }
    return pem;
  }

  @Override
  public void close() {
    writer.shutdownNow();
    if (namespaces != null) {
      namespaces.close();
    }
    if (configMaps != null) {
      configMaps.close();
    }
  }
}
