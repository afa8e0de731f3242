package io.vmesh.proxy.capture;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CaptureCommandTest {


  @Test
  void dryRunPrintsTheRestoreInputOfEachFamilyAndAppliesNothing() {
    CaptureCli r = CaptureCli.run("--dry-run", "--ipv6", "on", "--outbound-port", "15101");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out())
        .startsWith("# iptables-restore --noflush (IPv4)\n*nat\n")
        .contains("# iptables-restore --noflush (IPv6)\n*nat\n", "-j REDIRECT --to-ports 15101", "-s ::6/128 -o lo")
        .endsWith("COMMIT\n# then: ip -6 addr add ::6/128 dev lo nodad\n");
  }

  @Test
  void ipv6AddsTheInboundPassthroughSourceToLoopbackAndIpv4NeedsNothing() {
    // the proxy binds ::6 for IPv6 inbound passthrough: not a local address until added (127.0.0.6 always is)
    assertThat(CaptureCli.run("--dry-run", "--ipv6", "on").out()).contains("# then: ip -6 addr add ::6/128 dev lo nodad\n");
    assertThat(CaptureCli.run("--dry-run", "--ipv6", "off").out()).doesNotContain("addr add");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "--outbound-port 0                                | --outbound-port must be between 1 and 65535, got 0",
      "--inbound-port 70000                             | --inbound-port must be between 1 and 65535, got 70000",
      "--inbound-ports 80,0                             | --inbound-ports must be between 1 and 65535, got 0",
      "--inbound-ports 80 --exclude-inbound-ports 22    | --exclude-inbound-ports applies only with --inbound-ports '*'",
      "--exclude-outbound-ports http                    | --exclude-outbound-ports: 'http' is not a port number",
      "--outbound-ip-ranges 10.0.0.0/33                 | --outbound-ip-ranges: '10.0.0.0/33' has a prefix length outside 0-32",
      "--exclude-outbound-ip-ranges 10.0.0.256          | --exclude-outbound-ip-ranges: '10.0.0.256' has an octet above 255",
      "--exclude-outbound-ip-ranges example.com         | --exclude-outbound-ip-ranges: 'example.com' is not an IPv4 or IPv6 address range",
      "--outbound-ports 443,,80                         | --outbound-ports: empty item in '443,,80'",
      "--proxy-gid -1                                   | --proxy-gid must not be negative, got -1",
      "--inbound-port 15001                             | --inbound-port and --outbound-port must differ",
      "--mode SPLICE                                    | Invalid value for option '--mode'",
      "--ipv6 maybe                                     | Invalid value for option '--ipv6'",
      "--iptables system                                | --iptables must be legacy or nft"})
  void aBadOptionIsAUsageErrorNamingItAndNothingIsPrintedOrApplied(String flags, String message) {
    // not a dry run: had validation come after applying, this would touch the machine's iptables
    CaptureCli r = CaptureCli.run(flags.split(" "));
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains(message);
    assertThat(r.out()).isEmpty();
  }

  @Test
  void anUnknownFlagIsAUsageError() {
    CaptureCli r = CaptureCli.run("--dry-run", "--inbound-portz", "80");
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.err()).contains("Unknown options: '--inbound-portz'");
  }
}
