package io.vmesh.operator.xds;

import java.time.Instant;
import java.util.Map;

/**
 * One xDS type of one proxy: what was last sent (version, nonce, resource name → content hash) and what the proxy
 * last acknowledged. {@code error} is the NACK's {@code error_detail} message while {@code state} is REJECTED.
 */
public record TypeSync(SyncState state, String sentVersion, String nonce, Instant sentAt, Map<String, String> sentResources,
                       String ackedVersion, Map<String, String> ackedResources, String error) {

  static final TypeSync NOT_SENT = new TypeSync(SyncState.NOT_SENT, "", "", null, Map.of(), "", Map.of(), null);

  public TypeSync {
    sentResources = Map.copyOf(sentResources);
    ackedResources = Map.copyOf(ackedResources);
  }
}
