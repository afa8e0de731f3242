package io.vmesh.operator.xds;

import com.google.protobuf.Message;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Equality of snapshots across one rebuild. The generator gives every proxy the same instances of the shared
 * resources (outbound clusters, endpoints, per-Service listeners, route tables), so a pair of old and new instances
 * is compared deeply once and then remembered: comparing a thousand proxies costs about one deep comparison of
 * what they share, plus their own inbound resources.
 */
public final class SnapshotComparison {

  private final Map<Message, Message> knownEqual = new IdentityHashMap<>();

  public boolean same(ProxySnapshot before, ProxySnapshot after) {
    if (before == null || after == null) {
      return before == after;
    }
    for (String type : ProxySnapshot.PUSH_ORDER) {
      if (!same(before.resources(type), after.resources(type))) {
        return false;
      }
    }
    return true;
  }

  private boolean same(List<? extends Message> before, List<? extends Message> after) {
    if (before == after) {
      return true;
    }
    if (before.size() != after.size()) {
      return false;
    }
    for (int i = 0; i < before.size(); i++) {
      Message a = before.get(i);
      Message b = after.get(i);
      if (a == b || knownEqual.get(a) == b) {
        continue;
      }
      if (!a.equals(b)) {
        return false;
      }
      knownEqual.put(a, b);
    }
    return true;
  }
}
