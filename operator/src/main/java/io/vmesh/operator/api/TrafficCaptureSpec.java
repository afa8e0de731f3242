package io.vmesh.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.kubernetes.api.model.LabelSelector;

/** {@code TrafficCapture.spec}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TrafficCaptureSpec {

  @JsonPropertyDescription("Pods of this namespace that get the sidecar; empty selects every pod of the namespace.")
  public LabelSelector selector;

  @JsonPropertyDescription("How inbound traffic is redirected to the proxy: REDIRECT (nat) or TPROXY (keeps the client address).")
  @Default("REDIRECT")
  public CaptureMode mode = CaptureMode.REDIRECT;

  @JsonPropertyDescription("Inbound capture: which ports of the pod go through the proxy.")
  public InboundCapture inbound;

  @JsonPropertyDescription("Outbound capture: which destinations the application's connections to go through the proxy.")
  public OutboundCapture outbound;

  @JsonPropertyDescription("The sidecar container the webhook injects.")
  public ProxySettings proxy;
}
