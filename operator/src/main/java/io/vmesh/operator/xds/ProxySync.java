package io.vmesh.operator.xds;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A connected proxy's sync state, per type in push order; immutable, replaced whole on every change. {@code agent} is
 * the node's {@code user_agent_name/user_agent_version}, what it says it runs.
 */
public record ProxySync(ProxyId proxy, String nodeId, String agent, Instant connectedAt, Map<String, TypeSync> types) {

  public ProxySync {
    types = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(types));
  }

  public TypeSync type(String typeUrl) {
    return types.getOrDefault(typeUrl, TypeSync.NOT_SENT);
  }

  public SyncState overall() {
    return SyncState.overall(types.values().stream().map(TypeSync::state).toList());
  }
}
