package io.vmesh.proxy.http;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vmesh.proxy.accesslog.AccessLog.Result;
import java.time.Instant;
import java.util.Optional;

/**
 * Reads the requests of one HTTP/1.1 connection (one after another) or of one HTTP/2 stream (exactly
 * one) as Netty's HTTP/1 message objects — the HTTP/2 stream's frames are turned into the same by
 * Netty's {@code Http2StreamFrameToHttpObjectCodec} — routes each and runs its {@link HttpExchange}.
 */
final class RequestReader {

  /** Envoy's default {@code max_request_headers_kb}: request line and headers together. */
  static final int MAX_HEADERS_BYTES = 60 * 1024;
  /** Bodies of requests whose route retries are buffered whole (a retry resends them), up to Envoy's default buffer limit. */
  static final int MAX_BODY_BYTES = 1024 * 1024;
  private static final byte[] NO_BYTES = new byte[0];

  /** The downstream side of an exchange: an HTTP/1.1 connection or one HTTP/2 stream. */
  interface Transport {

    Future<Void> write(HttpObject message);

    /** Writes without a future to tell when it is written, for a caller that does not ask: a failure shows as the connection closing. */
    default void send(HttpObject message) {
      write(message);
    }

    boolean writeQueueFull();

    void drainHandler(Handler<Void> handler);

    /** Stops reading the request (backpressure; also while a response is in flight on HTTP/1.1). */
    void pause();

    void resume();

    /** Whether another request may follow this one on the same transport. */
    boolean keepAlive(HttpRequest request);

    /** The exchange is over; {@code close} ends the connection (HTTP/1.1) or resets the stream if unfinished (HTTP/2). */
    void done(boolean close);

    /** The HTTP/1.1 connection, which an upgrade turns into a tunnel; null for an HTTP/2 stream. */
    default NetSocketInternal socket() {
      return null;
    }
  }

  private final HttpScope scope;
  private final Transport transport;
  // what exchanges write through: each write is activity for stream_idle_timeout
  private final Transport tracked;
  private final ByteBufAllocator alloc;
  private HttpRequest head;
  private CompositeByteBuf body;
  private boolean bodyTooLarge;
  private Instant requestStart;
  private long requestStartNanos;
  private HttpExchange current;
  /** What the request being read routes by, resolved at its headers. */
  private RouteSource.Routing routing;
  /** The body of the request in flight while it streams upstream (a route without retries); null otherwise. */
  private RequestBody streaming;
  private boolean broken;
  // the stream's timers (stream_idle_timeout, request_timeout, the route's timeout), from its request headers to its end
  private long lastActivityNanos;
  private final Deadline streamIdle;
  private long requestTimer = -1;
  private final Deadline routeTimeout;
  /** An HTTP/1.1 connection's reader, serving request after request: its deadlines are cleared between them, not cancelled. */
  private final boolean persistent;

  RequestReader(HttpScope scope, Transport transport, ByteBufAllocator alloc) {
    this.scope = scope;
    this.transport = transport;
    this.tracked = new Tracked(transport);
    this.alloc = alloc;
    this.streamIdle = new Deadline(scope.context());
    this.routeTimeout = new Deadline(scope.context());
    this.persistent = !scope.http2();
  }

  /** The route timeout of the exchange in flight: {@code onTimeout} runs after {@code millis} unless {@link #routeTimeoutOff()} first. */
  void routeTimeout(long millis, Runnable onTimeout) {
    routeTimeout.set(millis, onTimeout);
  }

  void routeTimeoutOff() {
    if (persistent) {
      routeTimeout.clear();
    } else {
      routeTimeout.cancel();
    }
  }

  /** No exchange is in flight. */
  boolean idle() {
    return current == null;
  }

  /** No request is being read or answered: the connection may be closed without cutting one. */
  boolean between() {
    return current == null && head == null;
  }

  /** A message from the codec, released here. */
  void onMessage(Object msg) {
    try {
      if (broken) {
        return;
      }
      if (msg instanceof HttpRequest request) {
        requestStart = scope.clock().instant();
        requestStartNanos = System.nanoTime();
        startTimers();
        if (request.decoderResult().isFailure()) {
          badRequest(request.decoderResult().cause());
          return;
        }
        if (request.protocolVersion().majorVersion() != 1) {
          // an h2c preface parses as "PRI * HTTP/2.0" where the codec is HTTP/1 only
          badRequest(new IllegalArgumentException("HTTP/" + request.protocolVersion().majorVersion() + " is not served here"));
          return;
        }
        head = request;
        routing = scope.routes().next();
        String upgrade = transport.socket() == null ? null : UpgradeTunnel.requested(request);
        if (upgrade != null) {
          upgrade(request, upgrade);
          return;
        }
        // made at the first body byte: most requests have none
        releaseBody();
        bodyTooLarge = false;
        startStreaming(request);
      }
      if (msg instanceof HttpContent) {
        lastActivityNanos = System.nanoTime();
        if (msg instanceof LastHttpContent && requestTimer >= 0) {
          // the whole request is in: request_timeout is over
          cancelTimer(requestTimer);
          requestTimer = -1;
        }
      }
      if (msg instanceof HttpContent content && head != null) {
        if (content.decoderResult().isFailure()) {
          badRequest(content.decoderResult().cause());
          return;
        }
        if (streaming != null) {
          streaming.push(content);
          return;
        }
        int buffered = body == null ? 0 : body.readableBytes();
        if (!bodyTooLarge && buffered + content.content().readableBytes() > MAX_BODY_BYTES) {
          bodyTooLarge = true;
        }
        if (!bodyTooLarge && content.content().isReadable()) {
          if (body == null) {
            body = alloc.compositeBuffer(Integer.MAX_VALUE);
          }
          body.addComponent(true, content.content().retain());
        }
        if (content instanceof LastHttpContent) {
          dispatch();
        }
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  /** The downstream connection or stream is gone. */
  void closed() {
    stopTimers();
    releaseBody();
    if (current != null) {
      current.downstreamClosed();
    }
    // nothing may keep the connection's objects reachable now
    streamIdle.cancel();
    routeTimeout.cancel();
  }

  private void releaseBody() {
    if (body != null) {
      body.release();
      body = null;
    }
  }

  private void badRequest(Throwable cause) {
    stopTimers();
    broken = true;
    head = null;
    releaseBody();
    int status = cause instanceof TooLongHttpHeaderException || cause instanceof TooLongHttpLineException ? 431 : 400;
    FullHttpResponse reply = HttpExchange.localReply(HttpResponseStatus.valueOf(status),
        status == 431 ? "Request Header Fields Too Large" : "Bad Request", true);
    transport.write(reply).onComplete(ar -> transport.done(true));
    scope.log(requestStart, requestStartNanos, "-", "-", null, 0, 0, status, "DPE", Result.BAD_REQUEST);
  }

  /**
   * A request with a body whose route makes no retries goes upstream at once, its body streamed as it
   * arrives (nothing needs to be kept for a second attempt); every other request is read whole first.
   */
  private void startStreaming(HttpRequest request) {
    boolean hasBody = HttpUtil.isTransferEncodingChunked(request) || HttpUtil.getContentLength(request, 0L) > 0;
    if (!hasBody) {
      return;
    }
    Optional<RouteTable.Route> route = route(request);
    if (route.isEmpty() || route.get().action().retry().numRetries() > 0) {
      return;
    }
    releaseBody();
    streaming = new RequestBody(transport, () -> {
      head = null;
      streaming = null;
      if (current != null) {
        transport.pause();
      }
    });
    current = new HttpExchange(scope, routing.config(), this, tracked, request, null, streaming, transport.keepAlive(request),
        requestStart, requestStartNanos);
    current.start(route.get());
  }

  /**
   * An HTTP/1.1 request that asks to upgrade, as Envoy answers it: 404 without a route, 403 ({@code upgrade_failed}) when
   * neither the route nor the connection manager enables its type, else a tunnel once the upstream agrees. What follows
   * its head on the connection is not HTTP, so the connection ends with this exchange.
   */
  private void upgrade(HttpRequest request, String type) {
    broken = true;
    head = null;
    // the request is its head: what comes after it is the tunnel's
    cancelTimer(requestTimer);
    requestTimer = -1;
    Optional<RouteTable.Route> route = route(request);
    current = new HttpExchange(scope, routing.config(), this, tracked, request, NO_BYTES, null, false, requestStart, requestStartNanos);
    if (route.isEmpty()) {
      current.localReply(HttpResponseStatus.NOT_FOUND, "", "NR", Result.NO_ROUTE, true);
    } else if (!UpgradeTunnel.enabled(scope.hcm().upgrades(), route.get().action().upgrades(), type)) {
      scope.stats().http(scope.hcm().statPrefix()).upgradeRefused.increment();
      current.localReply(HttpResponseStatus.FORBIDDEN, "", "-", Result.UPGRADE_FAILED, true);
    } else {
      current.startUpgrade(route.get(), new UpgradeTunnel(transport.socket(), scope.hcm().timeouts().streamIdleMillis()));
    }
  }

  /** The exchange became a tunnel (101): the stream's timers end here, the tunnel has its own idle timeout. */
  void upgraded() {
    stopTimers();
  }

  /** A whole request is in: route it, with reading paused until its response is written. */
  private void dispatch() {
    HttpRequest request = head;
    head = null;
    byte[] bytes = body == null ? NO_BYTES : ByteBufUtil.getBytes(body);
    releaseBody();
    transport.pause();
    current = new HttpExchange(scope, routing.config(), this, tracked, request, bytes, null, transport.keepAlive(request),
        requestStart, requestStartNanos);
    Optional<RouteTable.Route> route = route(request);
    if (route.isEmpty()) {
      current.localReply(HttpResponseStatus.NOT_FOUND, "", "NR", Result.NO_ROUTE, false);
    } else if (bodyTooLarge) {
      current.localReply(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "Payload Too Large", "-", Result.BAD_REQUEST, true);
    } else {
      current.start(route.get());
    }
  }

  private Optional<RouteTable.Route> route(HttpRequest request) {
    return routing.table().route(request.headers().get(HttpHeaderNames.HOST), request.uri(), name -> header(request, name));
  }

  static String header(HttpRequest request, String name) {
    if (name.equals(":method")) {
      return request.method().name();
    }
    if (name.equals(":path")) {
      return request.uri();
    }
    String key = name.equals(":authority") ? "host" : name;
    var values = request.headers().getAll(key);
    return values.isEmpty() ? null : String.join(",", values);
  }

  /** Called by the exchange once its response is written, or it gave up. */
  void exchangeDone(HttpExchange exchange, boolean close) {
    if (current != exchange) {
      return;
    }
    current = null;
    stopTimers();
    // answered before its body was all read (an early reply, a timeout): the rest cannot be told from a next request
    boolean bodyUnread = exchange.streamedBody() != null && !exchange.streamedBody().ended();
    transport.done(close || bodyUnread || !exchange.keepAlive());
  }

  private void startTimers() {
    stopTimers();
    lastActivityNanos = System.nanoTime();
    HttpTimeouts timeouts = scope.hcm().timeouts();
    if (timeouts.streamIdleMillis() > 0) {
      streamIdle.set(timeouts.streamIdleMillis(), this::onStreamIdle);
    }
    if (timeouts.requestMillis() > 0) {
      requestTimer = scope.context().setTimer(timeouts.requestMillis(), id -> onRequestTimeout());
    }
  }

  private void stopTimers() {
    if (persistent) {
      streamIdle.clear();
    } else {
      streamIdle.cancel();
    }
    cancelTimer(requestTimer);
    requestTimer = -1;
  }

  private void cancelTimer(long id) {
    if (id >= 0) {
      scope.vertx().cancelTimer(id);
    }
  }

  /** One timer per stream, moved on when it fires early rather than reset at every byte. */
  private void onStreamIdle() {
    long idleMillis = (System.nanoTime() - lastActivityNanos) / 1_000_000;
    long left = scope.hcm().timeouts().streamIdleMillis() - idleMillis;
    if (left > 0) {
      streamIdle.set(left, this::onStreamIdle);
      return;
    }
    scope.stats().http(scope.hcm().statPrefix()).streamIdleTimeouts.increment();
    timedOut("stream timeout", Result.STREAM_IDLE_TIMEOUT);
  }

  private void onRequestTimeout() {
    requestTimer = -1;
    if (current != null && current.responseStarted()) {
      // Envoy disarms request_timeout once the response has begun
      return;
    }
    scope.stats().http(scope.hcm().statPrefix()).requestTimeouts.increment();
    timedOut("request timeout", Result.REQUEST_TIMEOUT);
  }

  /** Envoy's answer to a stream timeout: 408 before the response began, else the stream reset (HTTP/1.1: the connection closed). */
  private void timedOut(String text, Result result) {
    stopTimers();
    if (current != null) {
      current.timedOut(text, result);
      return;
    }
    if (head == null) {
      return;
    }
    // still reading a request that is routed once whole: the rest of it cannot be told from a next request
    HttpRequest request = head;
    broken = true;
    head = null;
    releaseBody();
    transport.write(HttpExchange.localReply(HttpResponseStatus.REQUEST_TIMEOUT, text, true)).onComplete(ar -> transport.done(true));
    scope.log(requestStart, requestStartNanos, request.method().name(), request.uri(), null, 0, text.length(),
        HttpResponseStatus.REQUEST_TIMEOUT.code(), result.flag(), result);
  }

  /** The transport, with each write counted as activity for stream_idle_timeout. */
  private final class Tracked implements Transport {
    private final Transport inner;

    Tracked(Transport inner) {
      this.inner = inner;
    }

    @Override
    public Future<Void> write(HttpObject message) {
      lastActivityNanos = System.nanoTime();
      return inner.write(message);
    }

    @Override
    public void send(HttpObject message) {
      lastActivityNanos = System.nanoTime();
      inner.send(message);
    }

    @Override
    public boolean writeQueueFull() {
      return inner.writeQueueFull();
    }

    @Override
    public void drainHandler(Handler<Void> handler) {
      inner.drainHandler(handler);
    }

    @Override
    public void pause() {
      inner.pause();
    }

    @Override
    public void resume() {
      inner.resume();
    }

    @Override
    public boolean keepAlive(HttpRequest request) {
      return inner.keepAlive(request);
    }

    @Override
    public void done(boolean close) {
      inner.done(close);
    }

    @Override
    public NetSocketInternal socket() {
      return inner.socket();
    }
  }
}
