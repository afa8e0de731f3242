package io.vmesh.operator.validation;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.operator.api.HttpRoute;
import io.vmesh.operator.api.InboundCapture;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.MeshPolicySpec;
import io.vmesh.operator.api.OutboundCapture;
import io.vmesh.operator.api.TrafficCapture;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The CRDs' CEL rules, evaluated by a CEL engine, say what the validator says, with the same messages. */
class CelRulesTest {

  private static final CelRules TRAFFIC_CAPTURE = new CelRules("trafficcaptures.vmesh.io.yaml");
  private static final CelRules MESH_POLICY = new CelRules("meshpolicies.vmesh.io.yaml");

  @Test
  void everyRuleCompilesAndHasAMessage() throws Exception {
    List<CelRules.Rule> rules = new java.util.ArrayList<>(TRAFFIC_CAPTURE.rules());
    rules.addAll(MESH_POLICY.rules());
    assertThat(rules).hasSizeGreaterThanOrEqualTo(9);
    for (CelRules.Rule rule : rules) {
      assertThat(rule.message()).as(rule.path()).isNotBlank();
      CelRules.compile(rule.expression());
    }
  }

  @Test
  void crossFieldRulesSitWhereTheyApply() {
    assertThat(TRAFFIC_CAPTURE.rules()).contains(
        new CelRules.Rule(".spec.inbound", InboundCapture.RULE_EXCLUDES_NEED_ALL, InboundCapture.MESSAGE_EXCLUDES_NEED_ALL),
        new CelRules.Rule(".spec.inbound.ports", InboundCapture.RULE_UNIQUE, InboundCapture.MESSAGE_UNIQUE_PORTS));
    assertThat(MESH_POLICY.rules()).contains(
        new CelRules.Rule(".spec.http[].route", HttpRoute.RULE_WEIGHTS, HttpRoute.MESSAGE_WEIGHTS),
        new CelRules.Rule(".spec.ports", MeshPolicySpec.RULE_UNIQUE_PORTS, MeshPolicySpec.MESSAGE_UNIQUE_PORTS));
  }

  static List<Arguments> trafficCaptures() {
    return List.of(
        Arguments.of("{spec: {inbound: {ports: ['*'], excludePorts: [22, 15090]}}}", List.of()),
        Arguments.of("{spec: {inbound: {excludePorts: [22]}}}", List.of()),
        Arguments.of("{spec: {inbound: {ports: ['8080', '9090'], excludePorts: [22]}}}", List.of(InboundCapture.MESSAGE_EXCLUDES_NEED_ALL)),
        Arguments.of("{spec: {inbound: {ports: ['*', '80']}}}", List.of(InboundCapture.MESSAGE_ALL_ALONE)),
        Arguments.of("{spec: {inbound: {ports: ['80', '80']}}}", List.of(InboundCapture.MESSAGE_UNIQUE_PORTS)),
        Arguments.of("{spec: {inbound: {ports: ['70000']}}}", List.of(InboundCapture.MESSAGE_PORT_RANGE)),
        Arguments.of("{spec: {inbound: {excludePorts: [22, 22]}}}", List.of(InboundCapture.MESSAGE_UNIQUE_EXCLUDES)),
        Arguments.of("{spec: {outbound: {ipRanges: ['*', '10.0.0.0/8']}}}", List.of(OutboundCapture.MESSAGE_ALL_ALONE)),
        Arguments.of("{spec: {outbound: {ipRanges: ['10.0.0.0/8', 'fd00::/8'], ports: [443, 80]}}}", List.of()),
        Arguments.of("{spec: {outbound: {ports: [443, 443], excludePorts: [25, 25]}}}",
            List.of(OutboundCapture.MESSAGE_UNIQUE_EXCLUDES, OutboundCapture.MESSAGE_UNIQUE_PORTS)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("trafficCaptures")
  void trafficCaptureRulesAgreeWithTheValidator(String object, List<String> expected) throws Exception {
    assertThat(TRAFFIC_CAPTURE.violations(object)).containsExactlyInAnyOrderElementsOf(expected);
    TrafficCapture parsed = CelRules.parse(object, TrafficCapture.class);
    assertThat(SpecValidator.validate(parsed.getSpec())).containsExactlyInAnyOrderElementsOf(expected);
  }

  static List<Arguments> meshPolicies() {
    return List.of(
        Arguments.of("{spec: {http: [{name: r, route: [{service: a, port: 80, weight: 0}, {service: b, port: 80, weight: 0}]}]}}",
            List.of(HttpRoute.MESSAGE_WEIGHTS)),
        Arguments.of("{spec: {http: [{name: r, route: [{service: a, port: 80, weight: 0}, {service: b, port: 80}]}]}}", List.of()),
        Arguments.of("{spec: {http: [{name: r, route: [{service: a, port: 80, weight: 90}, {service: b, port: 80, weight: 10}]}]}}",
            List.of()),
        Arguments.of("{spec: {ports: [{port: 8080, protocol: HTTP}, {port: 8080, protocol: GRPC}]}}",
            List.of(MeshPolicySpec.MESSAGE_UNIQUE_PORTS)),
        Arguments.of("{spec: {ports: [{port: 8080, protocol: HTTP}, {port: 9090, protocol: GRPC}]}}", List.of()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("meshPolicies")
  void meshPolicyRulesAgreeWithTheValidator(String object, List<String> expected) throws Exception {
    assertThat(MESH_POLICY.violations(object)).containsExactlyInAnyOrderElementsOf(expected);
    MeshPolicy parsed = CelRules.parse(object, MeshPolicy.class);
    assertThat(SpecValidator.validate(parsed.getSpec())).containsExactlyInAnyOrderElementsOf(expected);
  }
}
