package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** One entry of {@code http[].route}: a Service port of the policy's namespace and its share of the requests. */
public class RouteDestination {

  @JsonPropertyDescription("Name of a Service in the policy's namespace.")
  @Required
  @Pattern(Formats.DNS_LABEL)
  public String service;

  @JsonPropertyDescription("Port of that Service.")
  @Required
  @Min(1)
  @Max(65535)
  public Integer port;

  @JsonPropertyDescription("Relative share of the requests; 0 takes none.")
  @Default("1")
  @Min(0)
  public Integer weight = 1;
}
