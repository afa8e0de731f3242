package io.vmesh.operator.validation;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.TrafficCapture;
import org.junit.jupiter.api.Test;

/** Rules of the schema proper (patterns, ranges, required fields), which the validator checks as well. */
class SpecValidatorTest {

  @Test
  void theSamplesShapeOfAGoodCaptureIsValid() throws Exception {
    TrafficCapture capture = CelRules.parse("{spec: {selector: {matchLabels: {app: web}}, mode: TPROXY,"
        + " inbound: {ports: ['*'], excludePorts: [15021]}, outbound: {ipRanges: ['10.0.0.0/8'], excludeIPRanges: ['10.96.0.1/32'],"
        + " ports: [443]}, proxy: {uid: 1337, nativeSidecar: Auto, logLevel: debug}}}", TrafficCapture.class);

    assertThat(SpecValidator.validate(capture.getSpec())).isEmpty();
  }

  @Test
  void badCidrsPortsAndSelectorsAreNamedByPath() throws Exception {
    TrafficCapture capture = CelRules.parse("{spec: {selector: {matchExpressions: [{key: app, operator: Matches, values: [x]}]},"
        + " inbound: {ports: ['http']}, outbound: {ipRanges: ['10.0.0.0/33'], excludeIPRanges: ['300.1.1.1/8'], ports: [0]},"
        + " proxy: {uid: 0}}}", TrafficCapture.class);

    assertThat(SpecValidator.validate(capture.getSpec())).containsExactly(
        "selector.matchExpressions[0].operator: \"Matches\" is not one of In, NotIn, Exists, DoesNotExist",
        "inbound.ports[0]: \"http\" is neither \"*\" nor a port number",
        "outbound.ipRanges[0]: \"10.0.0.0/33\" is neither \"*\" nor a CIDR block such as 10.0.0.0/8",
        "outbound.excludeIPRanges[0]: \"300.1.1.1/8\" is not a CIDR block such as 10.0.0.0/8 or fd00::/8",
        "outbound.ports[0]: 0 is not a port between 1 and 65535",
        "proxy.uid: must be at least 1 (the proxy never runs as root)");
  }

  @Test
  void meshPolicyRequiredFieldsDurationsAndNames() throws Exception {
    MeshPolicy policy = CelRules.parse("{spec: {ports: [{port: 8080}], inbound: {allow: [{from: {ipBlocks: ['10.1.0.0/16'],"
        + " namespaces: [Demo]}, ports: [70000]}]}, http: [{name: r1, timeout: 5 seconds, match: {pathPrefix: api},"
        + " route: [{service: reviews}]}, {name: r2, route: []}]}}", MeshPolicy.class);

    assertThat(SpecValidator.validate(policy.getSpec())).containsExactly(
        "ports[0].protocol: required",
        "inbound.allow[0].from.namespaces[0]: \"Demo\" is not a valid name (lower case letters, digits and '-')",
        "inbound.allow[0].ports[0]: 70000 is not a port between 1 and 65535",
        "http[0].match.pathPrefix: must start with /",
        "http[0].timeout: \"5 seconds\" is not a duration such as 5s, 250ms or 1m30s",
        "http[0].route[0].port: required",
        "http[1].route: at least one destination is required");
  }
}
