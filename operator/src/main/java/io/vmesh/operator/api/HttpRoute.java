package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** One entry of {@code MeshPolicy.spec.http}: requests that match go to weighted destinations. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class HttpRoute {

  public static final String RULE_WEIGHTS = "self.exists(r, !has(r.weight) || r.weight > 0)";
  public static final String MESSAGE_WEIGHTS = "http[].route: the weights add up to 0, so no request could be sent anywhere; "
      + "give at least one destination a weight above 0";

  @JsonPropertyDescription("Route name, shown in the proxy's config and access log.")
  @Required
  @Pattern(Formats.DNS_LABEL)
  public String name;

  @JsonPropertyDescription("Which requests this route takes; empty matches every request.")
  public HttpMatch match;

  @JsonPropertyDescription("Destinations, chosen by weight.")
  @Required
  @Size(min = 1)
  @ValidationRule(value = RULE_WEIGHTS, message = MESSAGE_WEIGHTS)
  public List<RouteDestination> route;

  @JsonPropertyDescription("Whole-request timeout such as 5s or 250ms.")
  @Pattern(Formats.DURATION)
  public String timeout;

  @JsonPropertyDescription("Retry policy.")
  public Retries retries;
}
