package io.vmesh.operator.validation;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.vmesh.operator.api.AllowRule;
import io.vmesh.operator.api.Formats;
import io.vmesh.operator.api.HttpRoute;
import io.vmesh.operator.api.InboundCapture;
import io.vmesh.operator.api.MeshPolicySpec;
import io.vmesh.operator.api.OutboundCapture;
import io.vmesh.operator.api.PortProtocol;
import io.vmesh.operator.api.ProxySettings;
import io.vmesh.operator.api.RouteDestination;
import io.vmesh.operator.api.TrafficCaptureSpec;
import io.vmesh.operator.api.TrafficSource;
import io.vmesh.operator.selection.LabelSelectorMatcher;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The rules of the CRD schema and its CEL validations, checked again in Java: the API server may run
 * without CEL (the embedded one does), and the webhook and the CLIs need the same answers.
 * Cross-field messages are the very strings the CRD carries.
 */
public final class SpecValidator {

  private static final Pattern PORT_OR_ALL = Pattern.compile(Formats.PORT_OR_ALL);
  private static final Pattern CIDR = Pattern.compile(Formats.CIDR);
  private static final Pattern CIDR_OR_ALL = Pattern.compile(Formats.CIDR_OR_ALL);
  private static final Pattern DURATION = Pattern.compile(Formats.DURATION);
  private static final Pattern DNS_LABEL = Pattern.compile(Formats.DNS_LABEL);

  private SpecValidator() {
  }

  /** Every rule a TrafficCapture spec breaks, in a stable order; empty when it is valid. */
  public static List<String> validate(TrafficCaptureSpec spec) {
    List<String> violations = new ArrayList<>();
    if (spec == null) {
      return violations;
    }
    selector("selector", spec.selector, violations);
    if (spec.inbound != null) {
      inbound(spec.inbound, violations);
    }
    if (spec.outbound != null) {
      outbound(spec.outbound, violations);
    }
    ProxySettings proxy = spec.proxy;
    if (proxy != null && proxy.uid != null && proxy.uid < 1) {
      violations.add("proxy.uid: must be at least 1 (the proxy never runs as root)");
    }
    return violations;
  }

  /** Every rule a MeshPolicy spec breaks, in a stable order; empty when it is valid. */
  public static List<String> validate(MeshPolicySpec spec) {
    List<String> violations = new ArrayList<>();
    if (spec == null) {
      return violations;
    }
    selector("selector", spec.selector, violations);
    if (spec.ports != null) {
      for (int i = 0; i < spec.ports.size(); i++) {
        PortProtocol port = spec.ports.get(i);
        required("ports[" + i + "].port", port.port, violations);
        portRange("ports[" + i + "].port", port.port, violations);
        required("ports[" + i + "].protocol", port.protocol, violations);
      }
      if (hasDuplicates(spec.ports.stream().map(p -> p.port).toList())) {
        violations.add(MeshPolicySpec.MESSAGE_UNIQUE_PORTS);
      }
    }
    if (spec.inbound != null && spec.inbound.allow != null) {
      for (int i = 0; i < spec.inbound.allow.size(); i++) {
        allowRule("inbound.allow[" + i + "]", spec.inbound.allow.get(i), violations);
      }
    }
    if (spec.http != null) {
      for (int i = 0; i < spec.http.size(); i++) {
        httpRoute("http[" + i + "]", spec.http.get(i), violations);
      }
    }
    return violations;
  }

  private static void inbound(InboundCapture inbound, List<String> violations) {
    List<String> ports = inbound.ports == null ? List.of() : inbound.ports;
    for (int i = 0; i < ports.size(); i++) {
      String port = ports.get(i);
      if (port == null || !PORT_OR_ALL.matcher(port).matches()) {
        violations.add("inbound.ports[" + i + "]: \"" + port + "\" is neither \"*\" nor a port number");
      } else if (!Formats.ALL.equals(port) && Integer.parseInt(port) > 65535) {
        violations.add(InboundCapture.MESSAGE_PORT_RANGE);
      }
    }
    if (ports.contains(Formats.ALL) && ports.size() > 1) {
      violations.add(InboundCapture.MESSAGE_ALL_ALONE);
    }
    if (hasDuplicates(ports)) {
      violations.add(InboundCapture.MESSAGE_UNIQUE_PORTS);
    }
    ports("inbound.excludePorts", inbound.excludePorts, InboundCapture.MESSAGE_UNIQUE_EXCLUDES, violations);
    boolean excludes = inbound.excludePorts != null && !inbound.excludePorts.isEmpty();
    if (excludes && inbound.ports != null && !inbound.ports.contains(Formats.ALL)) {
      violations.add(InboundCapture.MESSAGE_EXCLUDES_NEED_ALL);
    }
  }

  private static void outbound(OutboundCapture outbound, List<String> violations) {
    List<String> ranges = outbound.ipRanges == null ? List.of() : outbound.ipRanges;
    for (int i = 0; i < ranges.size(); i++) {
      if (ranges.get(i) == null || !CIDR_OR_ALL.matcher(ranges.get(i)).matches()) {
        violations.add("outbound.ipRanges[" + i + "]: \"" + ranges.get(i) + "\" is neither \"*\" nor a CIDR block such as 10.0.0.0/8");
      }
    }
    if (ranges.contains(Formats.ALL) && ranges.size() > 1) {
      violations.add(OutboundCapture.MESSAGE_ALL_ALONE);
    }
    cidrs("outbound.excludeIPRanges", outbound.excludeIPRanges, violations);
    ports("outbound.ports", outbound.ports, OutboundCapture.MESSAGE_UNIQUE_PORTS, violations);
    ports("outbound.excludePorts", outbound.excludePorts, OutboundCapture.MESSAGE_UNIQUE_EXCLUDES, violations);
  }

  private static void allowRule(String path, AllowRule rule, List<String> violations) {
    TrafficSource from = rule.from;
    if (from != null) {
      if (from.namespaces != null) {
        for (int i = 0; i < from.namespaces.size(); i++) {
          name(path + ".from.namespaces[" + i + "]", from.namespaces.get(i), violations);
        }
      }
      cidrs(path + ".from.ipBlocks", from.ipBlocks, violations);
    }
    if (rule.ports != null) {
      for (int i = 0; i < rule.ports.size(); i++) {
        portRange(path + ".ports[" + i + "]", rule.ports.get(i), violations);
      }
    }
  }

  private static void httpRoute(String path, HttpRoute route, List<String> violations) {
    required(path + ".name", route.name, violations);
    if (route.name != null) {
      name(path + ".name", route.name, violations);
    }
    if (route.match != null && route.match.pathPrefix != null && !route.match.pathPrefix.startsWith("/")) {
      violations.add(path + ".match.pathPrefix: must start with /");
    }
    if (route.timeout != null && !DURATION.matcher(route.timeout).matches()) {
      violations.add(path + ".timeout: \"" + route.timeout + "\" is not a duration such as 5s, 250ms or 1m30s");
    }
    if (route.retries != null && route.retries.attempts != null && (route.retries.attempts < 0 || route.retries.attempts > 10)) {
      violations.add(path + ".retries.attempts: must be between 0 and 10");
    }
    if (route.route == null || route.route.isEmpty()) {
      violations.add(path + ".route: at least one destination is required");
      return;
    }
    for (int i = 0; i < route.route.size(); i++) {
      RouteDestination destination = route.route.get(i);
      String at = path + ".route[" + i + "]";
      required(at + ".service", destination.service, violations);
      if (destination.service != null) {
        name(at + ".service", destination.service, violations);
      }
      required(at + ".port", destination.port, violations);
      portRange(at + ".port", destination.port, violations);
      if (destination.weight != null && destination.weight < 0) {
        violations.add(at + ".weight: must not be negative");
      }
    }
    if (route.route.stream().noneMatch(d -> d.weight == null || d.weight > 0)) {
      violations.add(HttpRoute.MESSAGE_WEIGHTS);
    }
  }

  private static void selector(String path, LabelSelector selector, List<String> violations) {
    if (selector == null || selector.getMatchExpressions() == null) {
      return;
    }
    for (int i = 0; i < selector.getMatchExpressions().size(); i++) {
      LabelSelectorRequirement requirement = selector.getMatchExpressions().get(i);
      String at = path + ".matchExpressions[" + i + "]";
      if (!LabelSelectorMatcher.OPERATORS.contains(requirement.getOperator())) {
        violations.add(at + ".operator: \"" + requirement.getOperator() + "\" is not one of In, NotIn, Exists, DoesNotExist");
      }
      boolean hasValues = requirement.getValues() != null && !requirement.getValues().isEmpty();
      boolean needsValues = "In".equals(requirement.getOperator()) || "NotIn".equals(requirement.getOperator());
      if (needsValues != hasValues && LabelSelectorMatcher.OPERATORS.contains(requirement.getOperator())) {
        violations.add(at + ".values: " + (needsValues ? "required" : "must be empty") + " with operator " + requirement.getOperator());
      }
    }
  }

  private static void ports(String path, List<Integer> ports, String duplicateMessage, List<String> violations) {
    if (ports == null) {
      return;
    }
    for (int i = 0; i < ports.size(); i++) {
      portRange(path + "[" + i + "]", ports.get(i), violations);
    }
    if (hasDuplicates(ports)) {
      violations.add(duplicateMessage);
    }
  }

  private static void cidrs(String path, List<String> cidrs, List<String> violations) {
    if (cidrs == null) {
      return;
    }
    for (int i = 0; i < cidrs.size(); i++) {
      if (cidrs.get(i) == null || !CIDR.matcher(cidrs.get(i)).matches()) {
        violations.add(path + "[" + i + "]: \"" + cidrs.get(i) + "\" is not a CIDR block such as 10.0.0.0/8 or fd00::/8");
      }
    }
  }

  private static void portRange(String path, Integer port, List<String> violations) {
    if (port != null && (port < 1 || port > 65535)) {
      violations.add(path + ": " + port + " is not a port between 1 and 65535");
    }
  }

  private static void name(String path, String name, List<String> violations) {
    if (!DNS_LABEL.matcher(name).matches()) {
      violations.add(path + ": \"" + name + "\" is not a valid name (lower case letters, digits and '-')");
    }
  }

  private static void required(String path, Object value, List<String> violations) {
    if (value == null) {
      violations.add(path + ": required");
    }
  }

  private static <T> boolean hasDuplicates(List<T> values) {
    Set<T> seen = new HashSet<>();
    return values.stream().filter(Objects::nonNull).anyMatch(v -> !seen.add(v));
  }
}
