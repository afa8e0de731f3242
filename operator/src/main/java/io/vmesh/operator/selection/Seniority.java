package io.vmesh.operator.selection;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.time.Instant;
import java.util.Comparator;

/** Orders resources oldest first (creationTimestamp, then name): when two claim the same pods, the older wins. */
public final class Seniority {

  public static final Comparator<HasMetadata> OLDEST_FIRST = Comparator
      .comparing((HasMetadata r) -> created(r))
      .thenComparing(r -> r.getMetadata().getNamespace(), Comparator.nullsFirst(Comparator.naturalOrder()))
      .thenComparing(r -> r.getMetadata().getName());

  private Seniority() {
  }

  private static Instant created(HasMetadata resource) {
    String timestamp = resource.getMetadata().getCreationTimestamp();
    // not yet stored: it is the newest of all
    return timestamp == null ? Instant.MAX : Instant.parse(timestamp);
  }
}
