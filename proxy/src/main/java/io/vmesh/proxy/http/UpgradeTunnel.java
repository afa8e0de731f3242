package io.vmesh.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Future;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vmesh.proxy.accesslog.AccessLog.Result;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP/1.1 Upgrade (WebSocket, or any other type {@code upgrade_configs} enables), Envoy's way: the request goes
 * upstream with {@code Connection: upgrade} and its {@code Upgrade}; from its head on, what the client sends is no longer
 * HTTP (the server codec stops decoding there, see {@link RequestSwitch}) and is relayed upstream as it comes; once the
 * upstream answers 101, that answer goes downstream and both connections become one byte tunnel, relayed as
 * {@code tcp_proxy} does — backpressure both ways, a FIN carried across once what came before it is written, both closed
 * when both have finished or either closes, both closed after {@code stream_idle_timeout} with no byte either way. The
 * upstream connection has left its pool for good. Every method runs on the downstream connection's event loop, which
 * the upstream connection shares.
 */
final class UpgradeTunnel {

  /** The HTTP/1.1 pipeline's handler that stops HTTP decoding after an upgrade request's head. */
  static final String SWITCH = "vmesh-http-upgrade";

  /** How the tunnel ended, for the access log line of its request. */
  record End(String flags, Result result) {
  }

  /** Told once, when both connections are closed. */
  interface Listener {
    void ended(End end);
  }

  private final NetSocketInternal downstream;
  private final long idleNanos;
  private Listener listener;
  private Channel upstream;
  private boolean upgraded;
  private boolean abandoned;
  private boolean downstreamPaused = true;
  private boolean downstreamFin;
  private boolean downstreamFinForwarded;
  private boolean upstreamFinForwarded;
  private boolean downstreamClosed;
  private boolean upstreamClosed;
  private boolean ended;
  private ChannelFuture lastUpstreamWrite;
  private Future<Void> lastDownstreamWrite = Future.succeededFuture();
  private long received;
  private long sent;
  private long lastActivity;
  private ScheduledFuture<?> idleTimer;
  /** Why it is ending, decided by whichever side finished or failed first. */
  private End end;

  /**
   * Takes over the downstream connection at the upgrade request's head: what the client sends from now on waits
   * (paused) until {@link #attach} gives it an upstream.
   */
  UpgradeTunnel(NetSocketInternal downstream, long idleMillis) {
    this.downstream = downstream;
    this.idleNanos = TimeUnit.MILLISECONDS.toNanos(idleMillis);
    downstream.messageHandler(this::fromDownstream);
    downstream.eventHandler(this::onDownstreamEvent);
    downstream.pause();
  }

  /**
   * The upgrade type a request asks for, lower case: {@code Connection} lists {@code upgrade} and {@code Upgrade} names it;
   * null when it asks for none — or for {@code h2c}, whose headers Envoy removes and serves the request as HTTP/1.1.
   */
  static String requested(HttpRequest request) {
    String upgrade = request.headers().get(HttpHeaderNames.UPGRADE);
    if (upgrade == null || upgrade.isBlank()
        || !request.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
      return null;
    }
    String type = upgrade.trim().toLowerCase(Locale.ROOT);
    return type.equals("h2c") ? null : type;
  }

  /** Envoy's rule: the route's {@code upgrade_configs} entry for the type decides when it has one, else the connection manager's. */
  static boolean enabled(Map<String, Boolean> connectionManager, Map<String, Boolean> route, String type) {
    Boolean byRoute = route.get(type);
    return byRoute != null ? byRoute : connectionManager.getOrDefault(type, false);
  }

  /** Told when both connections are closed; set before {@link #attach}. */
  void listener(Listener l) {
    this.listener = l;
  }

  long bytesReceived() {
    return received;
  }

  long bytesSent() {
    return sent;
  }

  boolean attached() {
    return upstream != null;
  }

  boolean upgraded() {
    return upgraded;
  }

  /**
   * The request head is written upstream (its encoder gone): what the client sent after it follows, then what it sends
   * next. The response head still comes through the upstream connection's HTTP decoder.
   */
  void attach(Channel channel) {
    if (abandoned) {
      return;
    }
    upstream = channel;
    lastUpstreamWrite = channel.newSucceededFuture();
    // the server's FIN must arrive as an event, to be carried across as a FIN
    channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    resumeDownstream();
  }

  /** The upstream connection's writability changed: the client is read again once it can take more. */
  void upstreamWritable() {
    if (upstream != null && upstream.isWritable() && !abandoned) {
      resumeDownstream();
    }
  }

  /**
   * The upstream answered 101 (its decoder and pool handler already out of its pipeline): the answer goes downstream
   * as bytes, the server codec leaves the downstream pipeline, and the tunnel runs until both sides are closed.
   */
  void upgrade(HttpResponse head) {
    upgraded = true;
    ChannelPipeline down = downstream.channelHandlerContext().channel().pipeline();
    // every earlier response has been written (requests are served in turn), so no encoded message waits behind this
    for (Class<? extends ChannelHandler> codec : List.of(HttpServerCodec.class, HttpServerExpectContinueHandler.class, RequestSwitch.class)) {
      if (down.get(codec) != null) {
        down.remove(codec);
      }
    }
    lastDownstreamWrite = downstream.writeMessage(encode(head));
    // the tunnel's handler first: removing the decoder then hands it what came after the 101, as bytes
    upstream.pipeline().addLast("vmesh-upgrade-tunnel", new FromUpstream());
    if (upstream.pipeline().get(HttpClientCodec.class) != null) {
      upstream.pipeline().remove(HttpClientCodec.class);
    }
    upstream.config().setAutoRead(true);
    lastActivity = System.nanoTime();
    if (idleNanos > 0) {
      scheduleIdleCheck(idleNanos);
    }
    if (!upstream.isActive()) {
      upstreamClosed(false);
    }
  }

  /** The exchange gave up before a 101 (a refusal, a timeout, another answer): what the client sends from now on is dropped. */
  void abandon() {
    abandoned = true;
  }

  /** The downstream connection is closed (by the client, or by the tunnel after the upstream ended). */
  void downstreamClosed() {
    if (downstreamClosed) {
      return;
    }
    downstreamClosed = true;
    ending(new End("DC", Result.OK));
    if (upstream != null) {
      closeAfterWrites(upstream, lastUpstreamWrite);
    }
    checkEnded();
  }

  private void fromDownstream(Object msg) {
    if (!(msg instanceof ByteBuf buf) || abandoned || upstream == null) {
      ReferenceCountUtil.release(msg);
      return;
    }
    int n = buf.readableBytes();
    received += n;
    lastActivity = System.nanoTime();
    lastUpstreamWrite = upstream.writeAndFlush(buf);
    if (!upstream.isWritable() && !downstreamPaused) {
      // the server reads slower than the client sends: stop reading the client until it catches up
      downstreamPaused = true;
      downstream.pause();
    }
  }

  private void resumeDownstream() {
    if (downstreamPaused) {
      downstreamPaused = false;
      // resuming delivers, synchronously, every message that came while paused
      downstream.resume();
      if (!downstreamPaused && downstreamFin && !downstreamFinForwarded) {
        forwardDownstreamFin();
      }
    }
  }

  private void onDownstreamEvent(Object event) {
    if (event instanceof ChannelInputShutdownEvent) {
      ending(new End("DC", Result.OK));
      downstreamFin = true;
      // the FIN can overtake bytes still queued while paused: forward it only after them
      if (!downstreamPaused && upstream != null && !abandoned) {
        forwardDownstreamFin();
      }
    } else {
      // a listener drain (ShutdownEvent) does not cut a tunnel: it goes on until the drain deadline, as tcp_proxy's do
      ReferenceCountUtil.release(event);
    }
  }

  private void forwardDownstreamFin() {
    downstreamFinForwarded = true;
    Channel up = upstream;
    lastUpstreamWrite.addListener(f -> {
      if (f.isSuccess() && up instanceof DuplexChannel duplex && up.isActive()) {
        duplex.shutdownOutput().addListener(s -> afterHalfClose());
      } else {
        up.close();
      }
    });
  }

  private void afterHalfClose() {
    if (downstreamFinForwarded && upstreamFinForwarded) {
      downstream.close();
      upstream.close();
    }
  }

  private void upstreamClosed(boolean reset) {
    if (upstreamClosed) {
      return;
    }
    upstreamClosed = true;
    ending(reset ? new End("UC", Result.UPSTREAM_RESET_AFTER_RESPONSE) : new End("-", Result.OK));
    // the client first gets what was already queued for it, then is closed
    downstream.close();
    checkEnded();
  }

  private void ending(End why) {
    if (end == null) {
      end = why;
    }
  }

  private void checkEnded() {
    if (!ended && upgraded && downstreamClosed && upstreamClosed) {
      ended = true;
      cancelIdle();
      if (listener != null) {
        listener.ended(end);
      }
    }
  }

  private static void closeAfterWrites(Channel channel, ChannelFuture last) {
    if (last == null || last.isDone()) {
      channel.close();
    } else {
      last.addListener(f -> channel.close());
    }
  }

  /** One timer per tunnel, moved forward only when it fires: traffic costs a field write, not a reschedule. */
  private void scheduleIdleCheck(long delayNanos) {
    idleTimer = downstream.channelHandlerContext().executor().schedule(this::checkIdle, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void checkIdle() {
    idleTimer = null;
    if (ended) {
      return;
    }
    long idle = System.nanoTime() - lastActivity;
    if (idle >= idleNanos) {
      ending(new End("SI", Result.STREAM_IDLE_TIMEOUT));
      downstream.close();
      upstream.close();
    } else {
      scheduleIdleCheck(idleNanos - idle);
    }
  }

  private void cancelIdle() {
    if (idleTimer != null) {
      idleTimer.cancel(false);
      idleTimer = null;
    }
  }

  /** The 101 head as bytes: the server codec is gone by the time it is written. */
  private static ByteBuf encode(HttpResponse head) {
    StringBuilder b = new StringBuilder(256);
    b.append("HTTP/1.1 ").append(head.status().code()).append(' ').append(head.status().reasonPhrase()).append("\r\n");
    head.headers().forEach(e -> b.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n"));
    b.append("\r\n");
    return Unpooled.copiedBuffer(b, StandardCharsets.ISO_8859_1);
  }

  /** The upstream side once upgraded: bytes go downstream with backpressure; FIN and close are carried across. */
  private final class FromUpstream extends ChannelInboundHandlerAdapter {

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      // the HTTP decoder's end of the 101 may still come: only bytes are the tunnel's
      if (!(msg instanceof ByteBuf buf) || downstreamClosed) {
        ReferenceCountUtil.release(msg);
        return;
      }
      sent += buf.readableBytes();
      lastActivity = System.nanoTime();
      lastDownstreamWrite = downstream.writeMessage(buf);
      if (downstream.writeQueueFull()) {
        // the client reads slower than the server sends: stop reading the server until it catches up
        ctx.channel().config().setAutoRead(false);
        downstream.drainHandler(v -> ctx.channel().config().setAutoRead(true));
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
      if (event instanceof ChannelInputShutdownEvent) {
        ending(new End("-", Result.OK));
        lastDownstreamWrite.onComplete(ar -> {
          Channel ch = downstream.channelHandlerContext().channel();
          if (ar.succeeded() && ch instanceof DuplexChannel duplex && ch.isActive()) {
            duplex.shutdownOutput().addListener(f -> {
              upstreamFinForwarded = true;
              afterHalfClose();
            });
          } else {
            downstream.close();
          }
        });
      } else {
        ReferenceCountUtil.release(event);
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      upstreamWritable();
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      upstreamClosed(false);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // a reset: the client's side is closed after what was queued for it
      upstreamClosed(true);
      ctx.close();
    }
  }

  /**
   * After the server codec: at the head of a request that asks to upgrade, the decoder leaves the pipeline, so the
   * bytes after the head reach the connection as bytes (whatever comes of the request, they are not a next request);
   * the decoder's empty end of that request is dropped.
   */
  static final class RequestSwitch extends ChannelInboundHandlerAdapter {
    private boolean switched;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (switched && msg instanceof HttpContent) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (!switched && msg instanceof HttpRequest request && request.decoderResult().isSuccess() && requested(request) != null) {
        switched = true;
        // the head first; removing the decoder then hands what it has not decoded on as bytes, after it
        ctx.fireChannelRead(msg);
        HttpServerCodec codec = ctx.pipeline().get(HttpServerCodec.class);
        if (codec != null) {
          codec.removeInboundHandler();
        }
        return;
      }
      ctx.fireChannelRead(msg);
    }
  }
}
