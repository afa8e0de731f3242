package io.vmesh.operator.xds;

/** Where one xDS type of one proxy stands, as {@code istioctl proxy-status} names it. */
public enum SyncState {
  /** The last response sent was acknowledged. */
  SYNCED,
  /** A response was sent and neither ACKed nor NACKed yet. */
  STALE,
  /** Nothing of this type was sent on the current stream (not subscribed, or no config for the pod). */
  NOT_SENT,
  /** The last response sent was NACKed; the proxy keeps running its last good config. */
  REJECTED;

  /** The proxy's state over its types: any rejection wins, then any pending push, then synced if anything was sent. */
  static SyncState overall(Iterable<SyncState> types) {
    boolean stale = false;
    boolean synced = false;
    for (SyncState s : types) {
      if (s == REJECTED) {
        return REJECTED;
      }
      stale |= s == STALE;
      synced |= s == SYNCED;
    }
    return stale ? STALE : synced ? SYNCED : NOT_SENT;
  }
}
