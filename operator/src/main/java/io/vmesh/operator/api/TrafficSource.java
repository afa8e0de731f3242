package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import java.util.List;

/** {@code allow[].from}: a source matches when it matches any of the listed namespaces, service accounts or IP blocks. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TrafficSource {

  @JsonPropertyDescription("Namespaces the client pods run in.")
  public List<@Pattern(Formats.DNS_LABEL) String> namespaces;

  @JsonPropertyDescription("Service accounts of the client pods, as namespace/name or name (same namespace).")
  public List<String> serviceAccounts;

  @JsonPropertyDescription("Client addresses as CIDR blocks.")
  public List<@Pattern(Formats.CIDR) String> ipBlocks;
}
