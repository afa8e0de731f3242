package io.vmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class OriginalDestinationTest {

  @Test
  void parsesSockaddrIn() {
    // AF_INET = 2 in host (little-endian) order, port 7000 = 0x1b58 in network order, 10.88.0.11
    ByteBuffer raw = ByteBuffer.wrap(new byte[] {2, 0, 0x1b, 0x58, 10, 88, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0});
    assertThat(OriginalDestination.parseSockaddrIn(raw)).isEqualTo(new InetSocketAddress("10.88.0.11", 7000));
  }

  @Test
  void parsesSockaddrInWithAHighPort() {
    ByteBuffer raw = ByteBuffer.wrap(new byte[] {2, 0, (byte) 0xff, (byte) 0xfe, (byte) 192, 0, 2, (byte) 200, 0, 0, 0, 0, 0, 0, 0, 0});
    assertThat(OriginalDestination.parseSockaddrIn(raw)).isEqualTo(new InetSocketAddress("192.0.2.200", 65534));
  }

  @Test
  void parsesSockaddrIn6() {
    ByteBuffer raw = ByteBuffer.allocate(28);
    raw.put(0, (byte) 10).put(2, (byte) 0x1f).put(3, (byte) 0x90); // AF_INET6, port 8080
    byte[] addr = {(byte) 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2a};
    raw.put(8, addr);
    assertThat(OriginalDestination.parseSockaddrIn6(raw)).isEqualTo(new InetSocketAddress("fd00::2a", 8080));
  }
}
