package io.vmesh.operator.webhook;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.inject.InjectionContext;
import io.vmesh.operator.inject.InjectionSettings;
import java.util.List;
import java.util.Optional;

/** The webhook's view of the cluster: informer caches of Namespaces and TrafficCaptures, filled before the webhook serves. */
public final class CachedInjectionContext implements InjectionContext, AutoCloseable {

  private final SharedIndexInformer<Namespace> namespaces;
  private final SharedIndexInformer<TrafficCapture> captures;
  private final InjectionSettings settings;

  public CachedInjectionContext(KubernetesClient client, InjectionSettings settings) {
    this.settings = settings;
    this.namespaces = client.namespaces().inform();
    this.captures = client.resources(TrafficCapture.class).inAnyNamespace().inform();
  }

  @Override
  public Optional<Namespace> namespace(String name) {
    return Optional.ofNullable(namespaces.getStore().getByKey(name));
  }

  @Override
  public List<TrafficCapture> captures(String namespace) {
    return captures.getIndexer().byIndex(Cache.NAMESPACE_INDEX, namespace);
  }

  @Override
  public InjectionSettings settings() {
    return settings;
  }

  @Override
  public void close() {
    namespaces.close();
    captures.close();
  }
}
