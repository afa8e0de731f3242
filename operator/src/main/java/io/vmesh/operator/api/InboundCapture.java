package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** {@code TrafficCapture.spec.inbound}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = InboundCapture.RULE_EXCLUDES_NEED_ALL, message = InboundCapture.MESSAGE_EXCLUDES_NEED_ALL)
public class InboundCapture {

  public static final String RULE_EXCLUDES_NEED_ALL =
      "!has(self.excludePorts) || size(self.excludePorts) == 0 || !has(self.ports) || self.ports.exists(p, p == '*')";
  public static final String MESSAGE_EXCLUDES_NEED_ALL =
      "inbound.excludePorts is only allowed when inbound.ports is [\"*\"]; list the ports to capture instead";

  public static final String RULE_ALL_ALONE = "!self.exists(p, p == '*') || size(self) == 1";
  public static final String MESSAGE_ALL_ALONE = "inbound.ports: \"*\" already means every port and cannot be combined with port numbers";
  public static final String RULE_PORT_RANGE = "self.all(p, p == '*' || (int(p) >= 1 && int(p) <= 65535))";
  public static final String MESSAGE_PORT_RANGE = "inbound.ports: a port must be between 1 and 65535";
  public static final String RULE_UNIQUE = "self.all(p, self.filter(q, q == p).size() == 1)";
  public static final String MESSAGE_UNIQUE_PORTS = "inbound.ports: each port may be listed only once";
  public static final String MESSAGE_UNIQUE_EXCLUDES = "inbound.excludePorts: each port may be listed only once";

  @JsonPropertyDescription("Ports to capture: [\"*\"] for every port, or a list of port numbers.")
  @Default("[\"*\"]")
  @ValidationRule(value = RULE_ALL_ALONE, message = MESSAGE_ALL_ALONE)
  @ValidationRule(value = RULE_PORT_RANGE, message = MESSAGE_PORT_RANGE)
  @ValidationRule(value = RULE_UNIQUE, message = MESSAGE_UNIQUE_PORTS)
  public List<@Pattern(Formats.PORT_OR_ALL) String> ports = List.of(Formats.ALL);

  @JsonPropertyDescription("Ports never captured; only allowed when ports is [\"*\"].")
  @ValidationRule(value = RULE_UNIQUE, message = MESSAGE_UNIQUE_EXCLUDES)
  public List<@Min(1) @Max(65535) Integer> excludePorts;
}
