package io.vmesh.proxy.capture;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Bare epoll listeners for the capture diagnostics ({@code validate}, {@code inspect}): they need the
 * accepted socket's file descriptor to read {@code SO_ORIGINAL_DST}, and optionally {@code IP_TRANSPARENT},
 * which plain Java sockets cannot give.
 */
final class CaptureListener implements AutoCloseable {

  private final EventLoopGroup group;
  private final List<Channel> channels = new ArrayList<>();

  CaptureListener() {
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException("the native epoll transport is not available: " + Epoll.unavailabilityCause());
    }
    group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  }

  /** Binds {@code address}; with {@code transparent}, accepts connections TPROXY hands over for any local address. */
  Channel bind(InetSocketAddress address, boolean transparent, ChannelHandler handler) throws InterruptedException {
    ServerBootstrap b = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class).childHandler(handler);
    if (transparent) {
      b.option(EpollChannelOption.IP_TRANSPARENT, true);
    }
    Channel ch = b.bind(address).sync().channel();
    channels.add(ch);
    return ch;
  }

  @Override
  public void close() {
    channels.forEach(Channel::close);
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
  }
}
