package io.vmesh.proxy.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CaptureCommandTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cli = new CommandLine(new CaptureCommand());
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args);
  }

  @Test
  void dryRunPrintsTheRestoreInputAndAppliesNothing() {
    assertThat(run("--dry-run", "--outbound-port", "15101")).isZero();
    assertThat(out.toString())
        .startsWith("# iptables-restore --noflush (IPv4)\n*nat\n:VMESH_OUTPUT - [0:0]\n")
        .contains("-j REDIRECT --to-ports 15101")
        .endsWith("COMMIT\n");
  }

  @Test
  void aBadFlagIsAUsageErrorNamingIt() {
    assertThat(run("--dry-run", "--outbound-port", "0")).isEqualTo(2);
    assertThat(err.toString()).contains("outbound port must be between 1 and 65535, got 0");
    assertThat(out.toString()).isEmpty();
  }

  @Test
  void anUnknownFlagIsAUsageError() {
    assertThat(run("--dry-run", "--inbound-portz", "80")).isEqualTo(2);
    assertThat(err.toString()).contains("Unknown options: '--inbound-portz'");
  }
}
