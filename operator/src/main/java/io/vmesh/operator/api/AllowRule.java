package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import java.util.List;

/** One entry of {@code MeshPolicy.spec.inbound.allow}: a source and the ports it may reach. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AllowRule {

  @JsonPropertyDescription("Where the connection comes from; empty matches any source.")
  public TrafficSource from;

  @JsonPropertyDescription("Destination ports this rule opens; empty opens every port.")
  public List<@Min(1) @Max(65535) Integer> ports;
}
