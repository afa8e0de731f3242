package io.vmesh.proxy.listener;

import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.unix.RawUnixChannelOption;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * Recovers the address a redirected connection was originally sent to: netfilter keeps it in the
 * connection's conntrack entry, and {@code getsockopt(SO_ORIGINAL_DST)} reads it back.
 */
public final class OriginalDestination {

  /** {@code SOL_IP}, {@code SO_ORIGINAL_DST} (linux/netfilter_ipv4.h), a {@code struct sockaddr_in}. */
  static final RawUnixChannelOption SO_ORIGINAL_DST = new RawUnixChannelOption("SO_ORIGINAL_DST", 0, 80, 16);
  /** {@code SOL_IPV6}, {@code IP6T_SO_ORIGINAL_DST}, a {@code struct sockaddr_in6}. */
  static final RawUnixChannelOption IP6T_SO_ORIGINAL_DST = new RawUnixChannelOption("IP6T_SO_ORIGINAL_DST", 41, 80, 28);

  private OriginalDestination() {
  }

  /**
   * The original destination of an accepted epoll channel, or empty when the kernel has none (the
   * connection has no conntrack entry). A connection that was not redirected reports its own local address.
   */
  public static Optional<InetSocketAddress> of(Channel channel) {
    InetSocketAddress local = (InetSocketAddress) channel.localAddress();
    boolean v6 = local != null && local.getAddress() instanceof Inet6Address;
    try {
      ByteBuffer raw = channel.config().getOption(v6 ? IP6T_SO_ORIGINAL_DST : SO_ORIGINAL_DST);
      return Optional.of(v6 ? parseSockaddrIn6(raw) : parseSockaddrIn(raw));
    } catch (ChannelException e) {
      return Optional.empty();
    }
  }

  /** {@code struct sockaddr_in}: family (host order), port (network order), 4 address bytes. */
  static InetSocketAddress parseSockaddrIn(ByteBuffer raw) {
    int port = ((raw.get(2) & 0xff) << 8) | (raw.get(3) & 0xff);
    byte[] addr = new byte[4];
    raw.get(4, addr);
    return new InetSocketAddress(address(addr), port);
  }

  /** {@code struct sockaddr_in6}: family, port (network order), flow info, 16 address bytes, scope id. */
  static InetSocketAddress parseSockaddrIn6(ByteBuffer raw) {
    int port = ((raw.get(2) & 0xff) << 8) | (raw.get(3) & 0xff);
    byte[] addr = new byte[16];
    raw.get(8, addr);
    return new InetSocketAddress(address(addr), port);
  }

  private static InetAddress address(byte[] bytes) {
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("a " + bytes.length + "-byte address is always valid", e);
    }
  }
}
