package io.vmesh.operator.inject;

import io.fabric8.kubernetes.api.model.Namespace;
import io.vmesh.operator.api.TrafficCapture;
import java.util.List;
import java.util.Optional;

/** What the webhook reads per request, from informer caches: never an API call on the request path. */
public interface InjectionContext {

  /** The namespace as cached; empty when the cache has not seen it (yet). */
  Optional<Namespace> namespace(String name);

  /** The TrafficCaptures of one namespace, as cached. */
  List<TrafficCapture> captures(String namespace);

  InjectionSettings settings();
}
