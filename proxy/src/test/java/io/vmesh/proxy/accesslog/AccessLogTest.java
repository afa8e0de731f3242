package io.vmesh.proxy.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.accesslog.AccessLog.Entry;
import io.vmesh.proxy.accesslog.AccessLog.Result;
import java.net.InetSocketAddress;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class AccessLogTest {

  private static final Instant START = Instant.parse("2026-11-26T10:15:30.123Z");

  @Test
  void oneLineWithEveryField() {
    Entry e = new Entry(START, "virtualOutbound", new InetSocketAddress("10.88.0.10", 40000),
        new InetSocketAddress("10.88.0.11", 7000), "PassthroughCluster", 22, 44, 3, Result.OK);
    assertThat(AccessLog.format(e)).isEqualTo("[2026-11-26T10:15:30.123Z] listener=virtualOutbound downstream=10.88.0.10:40000 "
        + "original_dst=10.88.0.11:7000 cluster=PassthroughCluster bytes_received=22 bytes_sent=44 duration_ms=3 result=OK");
  }

  @Test
  void ipv6AddressesAreBracketedAndMissingValuesAreDashes() {
    Entry e = new Entry(START, "virtualOutbound", new InetSocketAddress("fd00::1", 40000), null, null, 0, 0, 0, Result.NO_ORIGINAL_DST);
    assertThat(AccessLog.format(e)).contains("downstream=[fd00::1]:40000 original_dst=- cluster=- ")
        .endsWith("result=NO_ORIGINAL_DST");
  }
}
