package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import java.util.List;
import java.util.Map;

/** {@code http[].match}: every field that is set must match. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class HttpMatch {

  @JsonPropertyDescription("Host or :authority values (without port).")
  public List<String> hosts;

  @JsonPropertyDescription("Path prefix, starting with /.")
  @Pattern("^/.*$")
  public String pathPrefix;

  @JsonPropertyDescription("Headers that must be present with exactly these values.")
  public Map<String, String> headers;
}
