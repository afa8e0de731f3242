package io.vmesh.apiserver.admission;

import static org.assertj.core.api.Assertions.assertThat;

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

  @Test
  void theNextFreeAddressOfTheRangeIsGiven() throws Exception {
    ObjectNode s = service("{\"ports\":[{\"port\":80}]}");
    assertThat(ips.allocate(s, List.of("10.96.0.10", "10.96.0.11"))).isEmpty();
    assertThat(s.path("spec").path("clusterIP").asText()).isEqualTo("10.96.0.12");
    assertThat(s.path("spec").path("clusterIPs").get(0).asText()).isEqualTo("10.96.0.12");
  }

  @Test
  void aRequestedAddressIsKeptWhenFreeAndRefusedWhenTaken() throws Exception {
    ObjectNode free = service("{\"clusterIP\":\"10.96.3.4\"}");
    assertThat(ips.allocate(free, List.of("10.96.0.10"))).isEmpty();
    assertThat(free.path("spec").path("clusterIP").asText()).isEqualTo("10.96.3.4");
    ObjectNode taken = service("{\"clusterIP\":\"10.96.0.10\"}");
    assertThat(ips.allocate(taken, List.of("10.96.0.10"))).hasValueSatisfying(m -> assertThat(m).contains("already allocated"));
  }

  @Test
  void headlessAndExternalNameServicesGetNoAddress() throws Exception {
    ObjectNode headless = service("{\"clusterIP\":\"None\"}");
    assertThat(ips.allocate(headless, List.of())).isEmpty();
    assertThat(headless.path("spec").path("clusterIP").asText()).isEqualTo("None");
    ObjectNode external = service("{\"type\":\"ExternalName\",\"externalName\":\"example.org\"}");
    assertThat(ips.allocate(external, List.of())).isEmpty();
    assertThat(external.path("spec").has("clusterIP")).isFalse();
  }
}
