package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.LabelSelector;
import java.util.List;

/** {@code MeshPolicy.spec}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MeshPolicySpec {

  public static final String RULE_UNIQUE_PORTS = "self.all(p, self.filter(q, q.port == p.port).size() == 1)";
  public static final String MESSAGE_UNIQUE_PORTS = "ports: each port may be declared only once";

  @JsonPropertyDescription("Pods this policy applies to; empty applies it to the whole namespace "
      + "(in the operator's namespace: the mesh-wide default).")
  public LabelSelector selector;

  @JsonPropertyDescription("ALLOW_ANY forwards connections to unknown destinations; REGISTRY_ONLY refuses them.")
  @Default("ALLOW_ANY")
  public OutboundTrafficPolicy outboundTrafficPolicy = OutboundTrafficPolicy.ALLOW_ANY;

  @JsonPropertyDescription("Protocols of the selected pods' inbound ports; overrides a Service's appProtocol or port name.")
  @ValidationRule(value = RULE_UNIQUE_PORTS, message = MESSAGE_UNIQUE_PORTS)
  public List<PortProtocol> ports;

  @JsonPropertyDescription("Who may connect to the selected pods.")
  public InboundPolicy inbound;

  @JsonPropertyDescription("HTTP routes of the selected pods' outbound traffic.")
  public List<HttpRoute> http;
}
