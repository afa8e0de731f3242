package io.vmesh.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.internal.PromiseInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.impl.ShutdownEvent;
import java.util.HashMap;
import java.util.Map;

/**
 * An accepted connection served as HTTP/2 (h2c with prior knowledge). Vert.x's HttpServer cannot adopt a
 * connection that a NetServer accepted and the listener filters already read from, so Netty's own HTTP/2
 * codec goes onto the connection's pipeline: {@code Http2FrameCodec} (framing, HPACK, flow control, GOAWAY
 * on protocol errors, the rapid-reset guard) and {@code Http2MultiplexHandler} (one child channel per
 * stream). Each stream's frames become Netty's HTTP/1 message objects ({@code Http2StreamFrameToHttpObjectCodec},
 * which also maps {@code :authority} to {@code Host}), so the same {@link RequestReader} and {@link HttpExchange}
 * serve both protocols. Backpressure is HTTP/2's own: a stream that is not read returns no flow-control
 * window, and a response is written only while the client's window for it is open.
 */
final class Http2Downstream {

  private final HttpScope scope;
  private final NetSocketInternal socket;
  private final Http2Options options;
  private final Promise<Void> closed = Promise.promise();
  /** Open streams by id, for the client's RST_STREAM to reach a stream that is not reading. */
  private final Map<Integer, Stream> streams = new HashMap<>();
  // idle_timeout runs while no stream is open; max_connection_duration sends GOAWAY (streams in flight finish)
  private long idleTimer = -1;
  private long durationTimer = -1;
  // the final GOAWAY of a drain was sent: the last stream to end closes the connection
  private boolean goneAway;

  Http2Downstream(HttpScope scope, NetSocketInternal socket, Http2Options options) {
    this.scope = scope;
    this.socket = socket;
    this.options = options;
  }

  /** Takes over the connection; {@code alreadyRead} (owned from here on, may be null) is decoded first. */
  Future<Void> start(ByteBuf alreadyRead) {
    Channel channel = socket.channelHandlerContext().channel();
    Http2Settings settings = new Http2Settings().maxHeaderListSize(RequestReader.MAX_HEADERS_BYTES);
    if (options.maxConcurrentStreams() != null) {
      settings.maxConcurrentStreams(options.maxConcurrentStreams());
    }
    if (options.initialStreamWindowSize() != null) {
      settings.initialWindowSize(options.initialStreamWindowSize());
    }
    Http2FrameCodec codec = Http2FrameCodecBuilder.forServer().initialSettings(settings).validateHeaders(true).build();
    channel.pipeline().addBefore("handler", "vmesh-h2-codec", codec);
    channel.pipeline().addAfter("vmesh-h2-codec", "vmesh-h2-resets", new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        // a paused stream channel holds its inbound frames, the reset among them: tell its exchange now
        if (msg instanceof Http2ResetFrame reset && reset.stream() != null) {
          Stream stream = streams.get(reset.stream().id());
          if (stream != null) {
            stream.resetByClient();
          }
        }
        ctx.fireChannelRead(msg);
      }
    });
    channel.pipeline().addAfter("vmesh-h2-resets", "vmesh-h2-streams", new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel stream) {
        stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new HttpServerExpectContinueHandler(), new Stream());
      }
    }));
    channel.pipeline().addAfter("vmesh-h2-streams", "vmesh-h2-errors", new ChannelInboundHandlerAdapter() {
      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // the codec has answered every error already (GOAWAY with its code, then close); Vert.x's handler
        // would close first, and a graceful close sends GOAWAY NO_ERROR instead
      }
    });
    if (options.initialConnectionWindowSize() != null) {
      // the codec has already grown the connection window by twice the stream window's growth; top it up to the
      // configured size (HTTP/2 has no way to shrink it, so a larger stream window can leave it above)
      var connectionStream = codec.connection().connectionStream();
      var flow = codec.connection().local().flowController();
      int delta = options.initialConnectionWindowSize() - flow.windowSize(connectionStream);
      if (delta > 0) {
        try {
          flow.incrementWindowSize(connectionStream, delta);
        } catch (Http2Exception e) {
          throw new IllegalStateException("a window within HTTP/2's limit was refused", e);
        }
      }
    }
    // what reaches Vert.x's handler now is connection-level frames (SETTINGS, PING, GOAWAY): the codec answered them
    socket.messageHandler(ReferenceCountUtil::release);
    socket.eventHandler(event -> {
      if (event instanceof ChannelInputShutdownEvent) {
        // the client is done sending: GOAWAY, and close once the streams in flight have finished
        socket.close();
      } else if (event instanceof ShutdownEvent) {
        // the listener drains
        onListenerDrain();
      } else {
        ReferenceCountUtil.release(event);
      }
    });
    socket.closeHandler(v -> {
      stopIdle();
      if (durationTimer >= 0) {
        scope.vertx().cancelTimer(durationTimer);
      }
      closed.tryComplete();
    });
    startIdle();
    long maxDuration = scope.hcm().timeouts().maxConnectionDurationMillis();
    if (maxDuration > 0) {
      durationTimer = scope.context().setTimer(maxDuration, id -> {
        durationTimer = -1;
        scope.stats().http(scope.hcm().statPrefix()).maxDurationReached.increment();
        socket.close();
      });
    }
    HttpConnectionManager.replay(socket, alreadyRead);
    return closed.future();
  }

  /**
   * Envoy's drain sequence: a graceful GOAWAY (last stream id 2^31-1, so streams racing it are still
   * served), and after drain_timeout the final GOAWAY naming the last stream taken; the connection closes
   * once the streams up to it have finished (or at the listener's drain deadline).
   */
  private void onListenerDrain() {
    socket.writeMessage(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR).setExtraStreamIds(Integer.MAX_VALUE));
    scope.context().setTimer(Math.max(1, scope.hcm().timeouts().drainMillis()), id -> {
      // extraStreamIds 0: the codec names the last stream the client opened
      socket.writeMessage(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR));
      goneAway = true;
      if (streams.isEmpty()) {
        socket.close();
      }
    });
  }

  private void startIdle() {
    long idle = scope.hcm().timeouts().idleMillis();
    if (idle > 0 && idleTimer < 0) {
      idleTimer = scope.context().setTimer(idle, id -> {
        idleTimer = -1;
        if (streams.isEmpty()) {
          scope.stats().http(scope.hcm().statPrefix()).idleTimeouts.increment();
          // GOAWAY, then the close
          socket.close();
        }
      });
    }
  }

  private void stopIdle() {
    if (idleTimer >= 0) {
      scope.vertx().cancelTimer(idleTimer);
      idleTimer = -1;
    }
  }

  /** One stream: its request read by a {@link RequestReader}, its response written back as HTTP/2 frames. */
  private final class Stream extends ChannelInboundHandlerAdapter implements RequestReader.Transport {
    private Channel channel;
    private RequestReader reader;
    private Handler<Void> drain;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      channel = ctx.channel();
      reader = new RequestReader(scope, this, ctx.alloc());
      streams.put(((Http2StreamChannel) channel).stream().id(), this);
      stopIdle();
    }

    void resetByClient() {
      scope.context().emit(null, v -> reader.closed());
      channel.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      // in the connection's Vert.x context, so timers and upstream requests stay on this event loop
      scope.context().emit(msg, reader::onMessage);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      Handler<Void> h = drain;
      if (h != null && channel.isWritable()) {
        drain = null;
        scope.context().emit(null, h);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      streams.remove(((Http2StreamChannel) channel).stream().id());
      if (streams.isEmpty()) {
        if (goneAway) {
          socket.close();
        }
        startIdle();
      }
      scope.context().emit(null, v -> reader.closed());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // a stream error: resetting this stream leaves the others alone
      ctx.close();
    }

    @Override
    public Future<Void> write(HttpObject message) {
      PromiseInternal<Void> written = scope.context().promise();
      channel.writeAndFlush(message).addListener(written);
      return written.future();
    }

    @Override
    public boolean writeQueueFull() {
      return !channel.isWritable();
    }

    @Override
    public void drainHandler(Handler<Void> handler) {
      drain = handler;
    }

    @Override
    public void pause() {
      channel.config().setAutoRead(false);
    }

    @Override
    public void resume() {
      channel.config().setAutoRead(true);
    }

    @Override
    public boolean keepAlive(HttpRequest request) {
      return true;
    }

    @Override
    public void done(boolean close) {
      if (close) {
        // RST_STREAM if the stream is not over both ways; the connection and its other streams go on
        channel.close();
      }
    }
  }
}
