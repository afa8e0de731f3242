package io.vmesh.apiserver.admission;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClusterIpsTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final ClusterIps ips = new ClusterIps();

  private static ObjectNode service(String spec) throws Exception {
    return (ObjectNode) JSON.readTree("{\"metadata\":{\"name\":\"s\"},\"spec\":" + spec + "}");
  }

  private static List<String> texts(JsonNode array) {
    return java.util.stream.StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }

  private static List<String> errors(List<ClusterIps.FieldError> errors) {
    return errors.stream().map(ClusterIps.FieldError::toString).toList();
  }

  @Test
  void singleStackIsTheDefaultAndGetsTheNextFreeIpv4Address() throws Exception {
    ObjectNode s = service("{\"ports\":[{\"port\":80}]}");
    assertThat(ips.allocate(s, List.of("10.96.0.10", "10.96.0.11"))).isEmpty();
    JsonNode spec = s.path("spec");
    assertThat(spec.path("clusterIP").asText()).isEqualTo("10.96.0.12");
    assertThat(texts(spec.path("clusterIPs"))).containsExactly("10.96.0.12");
    assertThat(spec.path("ipFamilyPolicy").asText()).isEqualTo("SingleStack");
    assertThat(texts(spec.path("ipFamilies"))).containsExactly("IPv4");
  }

  @Test
  void dualStackGetsOneAddressPerFamilyPrimaryFirst() throws Exception {
    ObjectNode prefer = service("{\"ipFamilyPolicy\":\"PreferDualStack\"}");
    assertThat(ips.allocate(prefer, List.of("fd00:10:96::a"))).isEmpty();
    assertThat(texts(prefer.path("spec").path("clusterIPs"))).containsExactly("10.96.0.10", "fd00:10:96::b");
    assertThat(texts(prefer.path("spec").path("ipFamilies"))).containsExactly("IPv4", "IPv6");
    ObjectNode v6First = service("{\"ipFamilyPolicy\":\"RequireDualStack\",\"ipFamilies\":[\"IPv6\"]}");
    assertThat(ips.allocate(v6First, List.of())).isEmpty();
    assertThat(v6First.path("spec").path("clusterIP").asText()).isEqualTo("fd00:10:96::a");
    assertThat(texts(v6First.path("spec").path("clusterIPs"))).containsExactly("fd00:10:96::a", "10.96.0.10");
    assertThat(texts(v6First.path("spec").path("ipFamilies"))).containsExactly("IPv6", "IPv4");
    ObjectNode v6Only = service("{\"ipFamilies\":[\"IPv6\"]}");
    assertThat(ips.allocate(v6Only, List.of())).isEmpty();
    assertThat(texts(v6Only.path("spec").path("clusterIPs"))).containsExactly("fd00:10:96::a");
  }

  @Test
  void requestedAddressesAreKeptWhenFreeAndInRangeAndRefusedOtherwise() throws Exception {
    ObjectNode free = service("{\"ipFamilyPolicy\":\"RequireDualStack\",\"clusterIPs\":[\"fd00:10:96::99\",\"10.96.3.4\"]}");
    assertThat(ips.allocate(free, List.of("10.96.0.10"))).isEmpty();
    assertThat(free.path("spec").path("clusterIP").asText()).isEqualTo("fd00:10:96::99");
    assertThat(texts(free.path("spec").path("ipFamilies"))).containsExactly("IPv6", "IPv4");
    ObjectNode taken = service("{\"clusterIP\":\"10.96.0.10\"}");
    assertThat(errors(ips.allocate(taken, List.of("10.96.0.10")))).singleElement().asString()
        .startsWith("spec.clusterIPs[0]: Invalid value").contains("provided IP is already allocated");
    assertThat(taken.path("spec").has("clusterIPs")).isFalse();
    ObjectNode outside = service("{\"clusterIP\":\"192.168.1.1\"}");
    assertThat(errors(ips.allocate(outside, List.of()))).singleElement().asString().contains("not in the valid range", "10.96.0.0/16");
  }

  @Test
  void badInputIsRefusedNamingTheFieldAndChangesNothing() throws Exception {
    assertThat(refusal("{\"ipFamilyPolicy\":\"DualStack\"}")).containsExactly(
        "spec.ipFamilyPolicy: Unsupported value: \"DualStack\": supported values: \"PreferDualStack\", \"RequireDualStack\", \"SingleStack\"");
    assertThat(refusal("{\"ipFamilyPolicy\":\"PreferDualStack\",\"ipFamilies\":[\"IPv4\",\"IPv4\"]}"))
        .containsExactly("spec.ipFamilies[1]: Duplicate value: \"IPv4\"");
    assertThat(refusal("{\"ipFamilies\":[\"IPv5\"]}")).containsExactly(
        "spec.ipFamilies[0]: Unsupported value: \"IPv5\": supported values: \"IPv4\", \"IPv6\"");
    assertThat(refusal("{\"ipFamilies\":[\"IPv4\",\"IPv6\"]}")).singleElement().asString()
        .startsWith("spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack'");
    assertThat(refusal("{\"ipFamilyPolicy\":\"SingleStack\",\"clusterIPs\":[\"10.96.0.20\",\"fd00:10:96::20\"]}")).singleElement()
        .asString().startsWith("spec.ipFamilyPolicy: Invalid value: \"SingleStack\"");
    assertThat(refusal("{\"clusterIP\":\"10.96.0.300\"}")).singleElement().asString()
        .isEqualTo("spec.clusterIPs[0]: Invalid value: \"10.96.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    assertThat(refusal("{\"clusterIP\":\"reviews.example.org\"}")).singleElement().asString().contains("must be a valid IP address");
    assertThat(refusal("{\"ipFamilyPolicy\":\"RequireDualStack\",\"clusterIPs\":[\"10.96.0.20\",\"10.96.0.21\"]}")).singleElement()
        .asString().startsWith("spec.clusterIPs[1]: Invalid value").endsWith("may not have more than one IP for each IP family");
    assertThat(refusal("{\"ipFamilies\":[\"IPv6\"],\"clusterIP\":\"10.96.0.20\"}")).singleElement().asString()
        .isEqualTo("spec.clusterIPs[0]: Invalid value: \"10.96.0.20\": expected an IPv6 value as indicated by `ipFamilies[0]`");
    assertThat(refusal("{\"clusterIP\":\"10.96.0.20\",\"clusterIPs\":[\"10.96.0.21\"]}")).singleElement().asString()
        .startsWith("spec.clusterIPs[0]: Invalid value").contains("must be same as spec.clusterIP");
    assertThat(refusal("{\"type\":\"ExternalName\",\"externalName\":\"a.example\",\"clusterIP\":\"10.96.0.20\"}"))
        .containsExactly("spec.clusterIP: Forbidden: may not be set for ExternalName services");
  }

  private List<String> refusal(String spec) throws Exception {
    ObjectNode s = service(spec);
    ObjectNode before = s.deepCopy();
    List<String> out = errors(ips.allocate(s, List.of()));
    assertThat(s).as("a refused Service is left as it was").isEqualTo(before);
    return out;
  }

  @Test
  void headlessAndExternalNameServicesGetNoAddress() throws Exception {
    ObjectNode headless = service("{\"clusterIP\":\"None\",\"ipFamilyPolicy\":\"PreferDualStack\"}");
    assertThat(ips.allocate(headless, List.of())).isEmpty();
    assertThat(headless.path("spec").path("clusterIP").asText()).isEqualTo("None");
    assertThat(texts(headless.path("spec").path("clusterIPs"))).containsExactly("None");
    assertThat(texts(headless.path("spec").path("ipFamilies"))).containsExactly("IPv4", "IPv6");
    ObjectNode external = service("{\"type\":\"ExternalName\",\"externalName\":\"example.org\"}");
    assertThat(ips.allocate(external, List.of())).isEmpty();
    assertThat(external.path("spec").has("clusterIP")).isFalse();
  }

  @Test
  void updatesKeepAddressesAndThePrimaryFamilyAndUpgradeToDualStack() throws Exception {
    ObjectNode created = service("{\"ports\":[{\"port\":80}]}");
    assertThat(ips.allocate(created, List.of())).isEmpty();
    JsonNode stored = created.deepCopy();
    // kubectl apply sends the spec without the allocated fields: they are kept
    ObjectNode applied = service("{\"ports\":[{\"port\":81}]}");
    assertThat(ips.update(stored, applied, List.of())).isEmpty();
    assertThat(texts(applied.path("spec").path("clusterIPs"))).containsExactly("10.96.0.10");
    // upgrade: the secondary address is allocated
    ObjectNode upgraded = stored.deepCopy();
    ((ObjectNode) upgraded.path("spec")).put("ipFamilyPolicy", "PreferDualStack");
    ((ObjectNode) upgraded.path("spec")).remove("ipFamilies");
    assertThat(ips.update(stored, upgraded, List.of("fd00:10:96::a"))).isEmpty();
    assertThat(texts(upgraded.path("spec").path("clusterIPs"))).containsExactly("10.96.0.10", "fd00:10:96::b");
    assertThat(texts(upgraded.path("spec").path("ipFamilies"))).containsExactly("IPv4", "IPv6");
    // a client that knows clusterIP only (an older writer) keeps the secondary address too
    ObjectNode primaryOnly = service("{\"clusterIP\":\"10.96.0.10\",\"ipFamilyPolicy\":\"PreferDualStack\"}");
    assertThat(ips.update(upgraded, primaryOnly, List.of("fd00:10:96::a"))).isEmpty();
    assertThat(texts(primaryOnly.path("spec").path("clusterIPs"))).containsExactly("10.96.0.10", "fd00:10:96::b");
    // a changed address or primary family is refused
    ObjectNode moved = stored.deepCopy();
    ((ObjectNode) moved.path("spec")).put("clusterIP", "10.96.0.77").putArray("clusterIPs").add("10.96.0.77");
    assertThat(errors(ips.update(stored, moved, List.of()))).singleElement().asString()
        .isEqualTo("spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.77\"}: may not change once set");
    ObjectNode flipped = upgraded.deepCopy();
    ((ObjectNode) flipped.path("spec")).putArray("ipFamilies").add("IPv6").add("IPv4");
    assertThat(errors(ips.update(upgraded, flipped, List.of()))).isNotEmpty().allSatisfy(e -> assertThat(e).contains("IPv"));
    // a downgrade that keeps both addresses is refused
    ObjectNode down = upgraded.deepCopy();
    ((ObjectNode) down.path("spec")).put("ipFamilyPolicy", "SingleStack");
    assertThat(errors(ips.update(upgraded, down, List.of()))).singleElement().asString().startsWith("spec.ipFamilyPolicy: Invalid value");
  }
}
