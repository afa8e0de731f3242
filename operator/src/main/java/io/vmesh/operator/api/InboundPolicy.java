package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;

/** {@code MeshPolicy.spec.inbound}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class InboundPolicy {

  @JsonPropertyDescription("Rules of which one must match for a connection to be let in; empty allows everything.")
  public List<AllowRule> allow;
}
