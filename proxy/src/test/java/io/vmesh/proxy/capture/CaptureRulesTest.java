package io.vmesh.proxy.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CaptureRulesTest {

  @Test
  void defaultsMatchTheGoldenFile() throws IOException {
    assertThat(CaptureRules.ipv4(CaptureConfig.defaults()).restoreInput()).isEqualTo(golden("outbound-default.golden"));
  }

  @Test
  void everyProxyUidAndGidGetsItsOwnReturnBeforeTheRedirect() throws IOException {
    CaptureRules rules = CaptureRules.ipv4(new CaptureConfig(15011, List.of(1337, 1338), List.of(2000)));
    assertThat(rules.restoreInput()).isEqualTo(golden("outbound-custom.golden"));
    List<String> lines = rules.lines();
    assertThat(lines.get(lines.size() - 1)).endsWith("-j REDIRECT --to-ports 15011");
    assertThat(lines).filteredOn(l -> l.contains("-owner")).hasSize(3);
  }

  @Test
  void invalidConfigIsRefusedWithTheFieldNamed() {
    assertThatThrownBy(() -> new CaptureConfig(0, List.of(1337), List.of())).hasMessageContaining("outbound port");
    assertThatThrownBy(() -> new CaptureConfig(70000, List.of(1337), List.of())).hasMessageContaining("outbound port");
    assertThatThrownBy(() -> new CaptureConfig(15001, List.of(), List.of())).hasMessageContaining("proxy uid");
    assertThatThrownBy(() -> new CaptureConfig(15001, List.of(1337), List.of(-1))).hasMessageContaining("proxy gid");
  }

  @Test
  void ownedLinesAreOursOnlyAndOnlyFromTheNatTable() {
    String save = String.join("\n",
        "*filter",
        ":INPUT ACCEPT [0:0]",
        "-A INPUT -j VMESH_SOMETHING",
        "COMMIT",
        "*nat",
        ":OUTPUT ACCEPT [0:0]",
        ":DOCKER - [0:0]",
        ":VMESH_OUTPUT - [0:0]",
        "-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER",
        "-A OUTPUT -p tcp -j VMESH_OUTPUT",
        "-A VMESH_OUTPUT -p tcp -j REDIRECT --to-ports 15001",
        "-A DOCKER -i docker0 -j RETURN",
        "COMMIT");
    assertThat(CaptureRules.ownedLines(save)).containsExactly(
        "-A OUTPUT -p tcp -j VMESH_OUTPUT",
        "-A VMESH_OUTPUT -p tcp -j REDIRECT --to-ports 15001");
    CaptureState state = CaptureState.of(save);
    assertThat(state.chains()).containsExactly("VMESH_OUTPUT");
    assertThat(state.cleanupInput()).isEqualTo(String.join("\n",
        "*nat",
        "-D OUTPUT -p tcp -j VMESH_OUTPUT",
        "-F VMESH_OUTPUT",
        "-X VMESH_OUTPUT",
        "COMMIT", ""));
  }

  @Test
  void cleanupOfACleanTableIsNothing() {
    assertThat(CaptureState.of("*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n").cleanupInput()).isEmpty();
  }

  private static String golden(String name) throws IOException {
    try (InputStream in = CaptureRulesTest.class.getResourceAsStream("/capture/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
