package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.kubernetes.api.model.ResourceRequirements;

/** {@code TrafficCapture.spec.proxy}: the injected sidecar. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ProxySettings {

  @JsonPropertyDescription("Proxy image; empty uses the operator's default.")
  public String image;

  @JsonPropertyDescription("User and group id the proxy runs as; its own traffic is never captured.")
  @Default("1337")
  @Min(1)
  @Max(2147483647)
  public Integer uid = 1337;

  @JsonPropertyDescription("Run the proxy as a native sidecar: Auto, Enabled or Disabled.")
  @Default("Auto")
  public NativeSidecar nativeSidecar = NativeSidecar.Auto;

  @JsonPropertyDescription("Start the application containers only once the proxy is ready.")
  @Default("false")
  public Boolean holdApplicationUntilProxyStarts = false;

  @JsonPropertyDescription("Compute resources of the proxy container.")
  public ResourceRequirements resources;

  @JsonPropertyDescription("Proxy log level.")
  @Default("info")
  public ProxyLogLevel logLevel = ProxyLogLevel.info;
}
