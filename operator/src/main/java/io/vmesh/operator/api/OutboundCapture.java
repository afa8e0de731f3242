package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** {@code TrafficCapture.spec.outbound}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class OutboundCapture {

  public static final String RULE_ALL_ALONE = "!self.exists(r, r == '*') || size(self) == 1";
  public static final String MESSAGE_ALL_ALONE = "outbound.ipRanges: \"*\" already means every destination and cannot be combined with CIDRs";
  public static final String MESSAGE_UNIQUE_PORTS = "outbound.ports: each port may be listed only once";
  public static final String MESSAGE_UNIQUE_EXCLUDES = "outbound.excludePorts: each port may be listed only once";

  @JsonPropertyDescription("Destinations to capture: [\"*\"] for all, or CIDR blocks.")
  @Default("[\"*\"]")
  @ValidationRule(value = RULE_ALL_ALONE, message = MESSAGE_ALL_ALONE)
  public List<@Pattern(Formats.CIDR_OR_ALL) String> ipRanges = List.of(Formats.ALL);

  @JsonPropertyDescription("CIDR blocks never captured.")
  public List<@Pattern(Formats.CIDR) String> excludeIPRanges;

  @JsonPropertyDescription("Destination ports always captured, whatever the address.")
  @ValidationRule(value = InboundCapture.RULE_UNIQUE, message = MESSAGE_UNIQUE_PORTS)
  public List<@Min(1) @Max(65535) Integer> ports;

  @JsonPropertyDescription("Destination ports never captured.")
  @ValidationRule(value = InboundCapture.RULE_UNIQUE, message = MESSAGE_UNIQUE_EXCLUDES)
  public List<@Min(1) @Max(65535) Integer> excludePorts;
}
