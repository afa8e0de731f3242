package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** {@code MeshPolicy.status.proxies}: the sidecars this policy is in effect for, by configuration state. */
public class ProxyCounts {

  @JsonPropertyDescription("Injected pods for which this policy is the one in effect.")
  public Integer total;

  @JsonPropertyDescription("Proxies that acknowledged the configuration made from this policy.")
  public Integer synced;

  @JsonPropertyDescription("Proxies that have not acknowledged the latest configuration yet.")
  public Integer stale;

  @JsonPropertyDescription("Proxies that rejected the configuration.")
  public Integer rejected;

  @JsonPropertyDescription("synced/total, for kubectl get.")
  public String summary;
}
