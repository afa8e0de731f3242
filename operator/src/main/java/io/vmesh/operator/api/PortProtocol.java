package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;

/** One entry of {@code MeshPolicy.spec.ports}. */
public class PortProtocol {

  @JsonPropertyDescription("Container port, 1-65535.")
  @Required
  @Min(1)
  @Max(65535)
  public Integer port;

  @JsonPropertyDescription("HTTP, HTTP2, GRPC, TCP or TLS.")
  @Required
  public Protocol protocol;
}
