package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;

/** {@code http[].retries}. */
public class Retries {

  @JsonPropertyDescription("How many times a failed request is retried.")
  @Min(0)
  @Max(10)
  public Integer attempts;

  // not "on": YAML 1.1, which kubectl speaks, reads an unquoted on: key as the boolean true
  @JsonPropertyDescription("Conditions to retry on, Envoy's retry_on syntax, e.g. 5xx,connect-failure.")
  public String retryOn;
}
