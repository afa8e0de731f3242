package io.vmesh.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.impl.ShutdownEvent;
import io.vertx.core.net.impl.VertxConnection;
import io.vmesh.proxy.accesslog.AccessLog;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.listener.HttpInspector;
import io.vmesh.proxy.listener.Sniffed;
import io.vmesh.proxy.stats.ProxyStats;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.function.Supplier;

/**
 * Envoy's {@code http_connection_manager} on one accepted downstream connection. The codec follows
 * {@code codec_type}: AUTO serves HTTP/2 when the connection opens with the HTTP/2 preface (h2c with
 * prior knowledge), HTTP/1.1 otherwise. HTTP/1.1: Netty's codec is added to the connection's own
 * pipeline and requests are served one at a time (the connection is paused while one is in flight);
 * HTTP/2: see {@link Http2Downstream}. Each request is routed by {@link RouteTable} and sent to its cluster
 * ({@link HttpExchange}): HTTP/1.1 over pooled Netty channels of this event loop ({@link Http1Upstreams}),
 * HTTP/2 through a pooled Vert.x {@code HttpClient}; bodies streamed with backpressure.
 * Everything runs on the connection's event loop.
 */
public final class HttpConnectionManager {

  /** The HTTP/1.1 pipeline's handler that gathers a response's flushes into one send. */
  static final String FLUSH_CONSOLIDATION = "vmesh-http-flush";

  /**
   * Where the connection came from and what serves it: the configuration it was accepted with, and the
   * running one (RDS routes are looked up there at each request).
   */
  public record Downstream(String listener, InetSocketAddress peer, InetSocketAddress destination, RuntimeConfig config,
                           Supplier<RuntimeConfig> current) {
  }

  private final NetSocketInternal socket;
  private final HttpConnectionManagerConfig hcm;
  private final HttpScope scope;
  private final Promise<Void> closed = Promise.promise();

  public HttpConnectionManager(Vertx vertx, NetSocketInternal socket, HttpConnectionManagerConfig hcm, Downstream downstream,
                               UpstreamHttpClients upstreams, ProxyStats stats, AccessLog accessLog, Clock clock) {
    this.socket = socket;
    this.hcm = hcm;
    // called on the connection's own context (the accept handler's): exchanges and upstream clients stay on it
    this.scope = new HttpScope(vertx, (ContextInternal) vertx.getOrCreateContext(), hcm, downstream,
        new RouteSource(hcm, downstream.config(), downstream.current()), upstreams, stats, accessLog, clock, false);
  }

  /**
   * Takes over the connection; the future completes when it is closed.
   *
   * @param alreadyRead bytes the listener filters read, owned from here on (null for none)
   * @param finAlreadyRead whether the client already shut down its sending side
   */
  public Future<Void> start(ByteBuf alreadyRead, boolean finAlreadyRead) {
    Channel channel = socket.channelHandlerContext().channel();
    // a client FIN must arrive as an event, so a response in flight can still be written
    channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    switch (hcm.codec()) {
      case HTTP1 -> new Http1(alreadyRead, finAlreadyRead).start();
      case HTTP2 -> http2(alreadyRead);
      case AUTO -> new CodecDetection(alreadyRead, finAlreadyRead).start();
    }
    return closed.future();
  }

  private void http2(ByteBuf alreadyRead) {
    new Http2Downstream(scope.withHttp2(), socket, hcm.http2()).start(alreadyRead).onComplete(v -> closed.tryComplete());
  }

  /**
   * Feeds bytes read before the codec was in place to the codec, now: later reads of the same read loop
   * must not reach the codec first (a deferred replay would let the rest of a large body overtake them).
   * Vert.x queues what this decodes behind the message it is delivering, so the order holds on its side too.
   */
  static void replay(NetSocketInternal socket, ByteBuf alreadyRead) {
    if (alreadyRead == null) {
      return;
    }
    ChannelPipeline pipeline = socket.channelHandlerContext().channel().pipeline();
    pipeline.fireChannelRead(alreadyRead);
    // Vert.x holds back flushes while a read is in progress; this ends the replayed one
    pipeline.fireChannelReadComplete();
  }

  /**
   * codec_type AUTO where the listener filters did not already read enough: gathers the first bytes until
   * they are, or cannot be, the HTTP/2 preface (24 bytes at most), then hands them to the chosen codec.
   */
  private final class CodecDetection {
    private final CompositeByteBuf read;
    private boolean decided;

    CodecDetection(ByteBuf alreadyRead, boolean fin) {
      read = socket.channelHandlerContext().alloc().compositeBuffer(Integer.MAX_VALUE);
      if (alreadyRead != null) {
        read.addComponent(true, alreadyRead);
      }
      decided = fin;
    }

    void start() {
      if (decided || decide(false)) {
        return;
      }
      socket.messageHandler(msg -> {
        if (decided || !(msg instanceof ByteBuf buf)) {
          ReferenceCountUtil.release(msg);
          return;
        }
        read.addComponent(true, buf);
        decide(false);
      });
      socket.eventHandler(event -> {
        if (event instanceof ChannelInputShutdownEvent && !decided) {
          decide(true);
        } else {
          ReferenceCountUtil.release(event);
        }
      });
      socket.closeHandler(v -> {
        if (!decided) {
          decided = true;
          read.release();
        }
        closed.tryComplete();
      });
    }

    /** @return whether the codec is chosen */
    private boolean decide(boolean fin) {
      Sniffed.Status preface = HttpInspector.http2Preface(read);
      if (preface == Sniffed.Status.NEED_MORE && !fin) {
        return false;
      }
      decided = true;
      ByteBuf bytes = read.isReadable() ? read : null;
      if (bytes == null) {
        read.release();
      }
      if (preface == Sniffed.Status.FOUND) {
        http2(bytes);
      } else {
        new Http1(bytes, fin).start();
      }
      return true;
    }
  }

  /** HTTP/1.1 on the connection: one request at a time, kept alive between them. */
  private final class Http1 implements RequestReader.Transport {
    private final ByteBuf alreadyRead;
    private final boolean finAlreadyRead;
    private final RequestReader reader;
    private boolean inputShutdown;
    // idle_timeout runs while no request is in flight; max_connection_duration drains the connection
    private final Deadline idle = new Deadline(scope.context());
    private long durationTimer = -1;
    private boolean draining;

    Http1(ByteBuf alreadyRead, boolean finAlreadyRead) {
      this.alreadyRead = alreadyRead;
      this.finAlreadyRead = finAlreadyRead;
      this.reader = new RequestReader(scope, this, socket.channelHandlerContext().alloc());
    }

    void start() {
      ChannelPipeline pipeline = socket.channelHandlerContext().channel().pipeline();
      // a response arrives from the upstream outside this channel's read, where Vert.x flushes every write:
      // head, body and end would each cost a send(2); deferred to the end of the event loop's turn, they go in one
      pipeline.addFirst(FLUSH_CONSOLIDATION, new FlushConsolidationHandler(FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
      pipeline.addBefore("handler", "vmesh-http-codec", new HttpServerCodec(new HttpDecoderConfig()
          .setMaxInitialLineLength(RequestReader.MAX_HEADERS_BYTES).setMaxHeaderSize(RequestReader.MAX_HEADERS_BYTES).setMaxChunkSize(64 * 1024)));
      pipeline.addAfter("vmesh-http-codec", "vmesh-http-expect", new HttpServerExpectContinueHandler());
      pipeline.addAfter("vmesh-http-codec", UpgradeTunnel.SWITCH, new UpgradeTunnel.RequestSwitch());
      socket.messageHandler(msg -> {
        if (msg instanceof HttpRequest) {
          stopIdle();
        }
        reader.onMessage(msg);
      });
      socket.eventHandler(this::onEvent);
      socket.exceptionHandler(t -> socket.close());
      socket.closeHandler(v -> {
        idle.cancel();
        if (durationTimer >= 0) {
          scope.vertx().cancelTimer(durationTimer);
        }
        reader.closed();
        closed.tryComplete();
      });
      startIdle();
      long maxDuration = hcm.timeouts().maxConnectionDurationMillis();
      if (maxDuration > 0) {
        durationTimer = scope.context().setTimer(maxDuration, id -> onMaxDuration());
      }
      replay(socket, alreadyRead);
      if (finAlreadyRead) {
        onEvent(ChannelInputShutdownEvent.INSTANCE);
      }
    }

    private void onEvent(Object event) {
      if (event instanceof ChannelInputShutdownEvent) {
        inputShutdown = true;
        if (reader.idle()) {
          socket.close();
        }
      } else if (event instanceof ShutdownEvent) {
        onListenerDrain();
      } else {
        ReferenceCountUtil.release(event);
      }
    }

    @Override
    public Future<Void> write(HttpObject message) {
      return socket.writeMessage(message);
    }

    @Override
    public void send(HttpObject message) {
      if (socket instanceof VertxConnection connection) {
        // through Vert.x's outbound queue like writeMessage (same order, same backpressure), without its promises
        connection.writeToChannel(message);
      } else {
        socket.writeMessage(message);
      }
    }

    @Override
    public boolean writeQueueFull() {
      return socket.writeQueueFull();
    }

    @Override
    public void drainHandler(Handler<Void> handler) {
      socket.drainHandler(handler);
    }

    @Override
    public void pause() {
      socket.pause();
    }

    @Override
    public void resume() {
      socket.resume();
    }

    private void startIdle() {
      long millis = hcm.timeouts().idleMillis();
      if (millis > 0) {
        idle.set(millis, this::onIdle);
      }
    }

    private void onIdle() {
      if (reader.between()) {
        scope.stats().http(hcm.statPrefix()).idleTimeouts.increment();
        socket.close();
      }
    }

    private void stopIdle() {
      idle.clear();
    }

    /** Envoy's drain at max_connection_duration: closed now if between requests, else after the response in flight. */
    private void onMaxDuration() {
      durationTimer = -1;
      scope.stats().http(hcm.statPrefix()).maxDurationReached.increment();
      draining = true;
      if (reader.between()) {
        socket.close();
      }
    }

    /**
     * The listener drains (SIGTERM, /drain_listeners, removed by an update; Vert.x's server shutdown hands the
     * event to the socket's event handler): every response from now on
     * says {@code Connection: close}; a connection still between requests after drain_timeout is closed.
     */
    private void onListenerDrain() {
      draining = true;
      scope.context().setTimer(Math.max(1, hcm.timeouts().drainMillis()), id -> {
        if (reader.between()) {
          socket.close();
        }
      });
    }

    @Override
    public NetSocketInternal socket() {
      return socket;
    }

    @Override
    public boolean keepAlive(HttpRequest request) {
      return !inputShutdown && !draining && request.protocolVersion().equals(HttpVersion.HTTP_1_1) && HttpUtil.isKeepAlive(request);
    }

    @Override
    public void done(boolean close) {
      if (close || inputShutdown || draining) {
        socket.close();
      } else {
        socket.resume();
        startIdle();
      }
    }
  }
}
