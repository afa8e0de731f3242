package io.vmesh.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.NetUtil;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.streams.WriteStream;
import io.vmesh.proxy.accesslog.AccessLog;
import io.vmesh.proxy.accesslog.AccessLog.Result;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.stats.ProxyStats;
import io.vmesh.proxy.stats.ProxyStats.ClusterStats;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Envoy's {@code http_connection_manager} on one accepted downstream connection: Netty's HTTP/1.1 codec
 * is added to the connection's own pipeline, requests are served one at a time (the connection is paused
 * while one is in flight), each routed by {@link RouteTable} and sent to its cluster through a pooled
 * Vert.x {@code HttpClient}, request and response bodies piped with backpressure. Failures become Envoy's
 * local replies and response flags. Everything runs on the connection's event loop.
 */
public final class HttpConnectionManager {

  /** Envoy's default {@code max_request_headers_kb}: request line and headers together. */
  public static final int MAX_HEADERS_BYTES = 60 * 1024;
  /** Bodies of requests whose route retries are buffered whole (a retry resends them), up to Envoy's default buffer limit. */
  public static final int MAX_BODY_BYTES = 1024 * 1024;
  /** Envoy's default retry back-off base interval. */
  private static final long RETRY_BASE_MILLIS = 25;
  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "transfer-encoding",
      "upgrade", "te", "trailer", "content-length", "expect");
  private static final String CONNECT_FAILURE = "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
  private static final String RESET = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";

  /** Where the connection came from and what serves it. */
  public record Downstream(String listener, InetSocketAddress peer, InetSocketAddress destination, RuntimeConfig config) {
  }

  private final Vertx vertx;
  private final NetSocketInternal socket;
  private final HttpConnectionManagerConfig hcm;
  private final Downstream downstream;
  private final UpstreamHttpClients upstreams;
  private final ProxyStats stats;
  private final AccessLog accessLog;
  private final Clock clock;
  private final Promise<Void> closed = Promise.promise();
  private HttpRequest head;
  private CompositeByteBuf body;
  private boolean bodyTooLarge;
  private Instant requestStart;
  private long requestStartNanos;
  private Exchange current;
  /** The body of the request in flight while it streams upstream (a route without retries); null otherwise. */
  private RequestBody streaming;
  private boolean inputShutdown;
  private boolean broken;

  public HttpConnectionManager(Vertx vertx, NetSocketInternal socket, HttpConnectionManagerConfig hcm, Downstream downstream,
                               UpstreamHttpClients upstreams, ProxyStats stats, AccessLog accessLog, Clock clock) {
    this.vertx = vertx;
    this.socket = socket;
    this.hcm = hcm;
    this.downstream = downstream;
    this.upstreams = upstreams;
    this.stats = stats;
    this.accessLog = accessLog;
    this.clock = clock;
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
    ChannelPipeline pipeline = channel.pipeline();
    pipeline.addBefore("handler", "vmesh-http-codec", new HttpServerCodec(new HttpDecoderConfig()
        .setMaxInitialLineLength(MAX_HEADERS_BYTES).setMaxHeaderSize(MAX_HEADERS_BYTES).setMaxChunkSize(64 * 1024)));
    pipeline.addAfter("vmesh-http-codec", "vmesh-http-expect", new HttpServerExpectContinueHandler());
    socket.messageHandler(this::onMessage);
    socket.eventHandler(this::onEvent);
    socket.exceptionHandler(t -> socket.close());
    socket.closeHandler(v -> onClose());
    if (alreadyRead != null || finAlreadyRead) {
      // after the handler that read them has returned, so the codec sees them before any later read
      channel.eventLoop().execute(() -> {
        if (alreadyRead != null) {
          pipeline.fireChannelRead(alreadyRead);
          // Vert.x holds back flushes while a read is in progress; this ends the replayed one
          pipeline.fireChannelReadComplete();
        }
        if (finAlreadyRead) {
          onEvent(ChannelInputShutdownEvent.INSTANCE);
        }
      });
    }
    return closed.future();
  }

  private void onMessage(Object msg) {
    try {
      if (broken) {
        return;
      }
      if (msg instanceof HttpRequest request) {
        requestStart = clock.instant();
        requestStartNanos = System.nanoTime();
        if (request.decoderResult().isFailure()) {
          badRequest(request.decoderResult().cause());
          return;
        }
        if (request.protocolVersion().majorVersion() != 1) {
          // an h2c preface parses as "PRI * HTTP/2.0": HTTP/2 is not served yet
          badRequest(new IllegalArgumentException("HTTP/" + request.protocolVersion().majorVersion() + " is not supported"));
          return;
        }
        head = request;
        body = socket.channelHandlerContext().alloc().compositeBuffer(Integer.MAX_VALUE);
        bodyTooLarge = false;
        startStreaming(request);
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
        if (!bodyTooLarge && body.readableBytes() + content.content().readableBytes() > MAX_BODY_BYTES) {
          bodyTooLarge = true;
        }
        if (!bodyTooLarge && content.content().isReadable()) {
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

  private void onEvent(Object event) {
    if (event instanceof ChannelInputShutdownEvent) {
      inputShutdown = true;
      if (current == null) {
        socket.close();
      }
    } else {
      ReferenceCountUtil.release(event);
    }
  }

  private void onClose() {
    releaseBody();
    if (current != null && !current.finished) {
      current.downstreamClosed();
    }
    closed.tryComplete();
  }

  private void releaseBody() {
    if (body != null) {
      body.release();
      body = null;
    }
  }

  private void badRequest(Throwable cause) {
    broken = true;
    head = null;
    releaseBody();
    int status = cause instanceof TooLongHttpHeaderException || cause instanceof TooLongHttpLineException ? 431 : 400;
    FullHttpResponse reply = localReply(HttpResponseStatus.valueOf(status), status == 431 ? "Request Header Fields Too Large" : "Bad Request", true);
    socket.writeMessage(reply).onComplete(ar -> socket.close());
    log(requestStart, requestStartNanos, null, 0, 0, Result.BAD_REQUEST, new AccessLog.Http("-", "-", status, "DPE"));
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
    Optional<RouteTable.Route> route = hcm.routes().route(request.headers().get(HttpHeaderNames.HOST), request.uri(),
        name -> header(request, name));
    if (route.isEmpty() || route.get().action().retry().numRetries() > 0) {
      return;
    }
    releaseBody();
    streaming = new RequestBody();
    current = new Exchange(request, null, keepAlive(request), requestStart, requestStartNanos);
    current.streamedBody = streaming;
    current.start(route.get());
  }

  private boolean keepAlive(HttpRequest request) {
    return !inputShutdown && request.protocolVersion().equals(HttpVersion.HTTP_1_1) && HttpUtil.isKeepAlive(request);
  }

  /** A whole request is in: route it, with the connection paused until its response is written. */
  private void dispatch() {
    HttpRequest request = head;
    head = null;
    byte[] bytes = ByteBufUtil.getBytes(body);
    releaseBody();
    socket.pause();
    current = new Exchange(request, bytes, keepAlive(request), requestStart, requestStartNanos);
    String host = request.headers().get(HttpHeaderNames.HOST);
    Optional<RouteTable.Route> route = hcm.routes().route(host, request.uri(), name -> header(request, name));
    if (route.isEmpty()) {
      current.localReply(HttpResponseStatus.NOT_FOUND, "", "NR", Result.NO_ROUTE, false);
    } else if (bodyTooLarge) {
      current.localReply(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "Payload Too Large", "-", Result.BAD_REQUEST, true);
    } else {
      current.start(route.get());
    }
  }

  private static String header(HttpRequest request, String name) {
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

  private void requestDone(Exchange exchange, boolean close) {
    if (current != exchange) {
      return;
    }
    current = null;
    // answered before its body was all read (an early reply, a timeout): the rest cannot be told from a next request
    boolean bodyUnread = exchange.streamedBody != null && !exchange.streamedBody.ended;
    if (close || bodyUnread || inputShutdown || !exchange.keepAlive) {
      socket.close();
    } else {
      socket.resume();
    }
  }

  private void log(Instant start, long startNanos, String cluster, long received, long sent, Result result, AccessLog.Http http) {
    accessLog.log(new AccessLog.Entry(start, downstream.listener(), downstream.peer(), downstream.destination(), cluster,
        received, sent, (System.nanoTime() - startNanos) / 1_000_000, result, http));
  }

  private static FullHttpResponse localReply(HttpResponseStatus status, String text, boolean close) {
    ByteBuf content = Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
    FullHttpResponse reply = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
    if (content.isReadable()) {
      reply.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
    }
    HttpUtil.setContentLength(reply, content.readableBytes());
    if (close) {
      reply.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return reply;
  }

  /** One request, from routing to the last byte of its response: one chain of futures, failures mapped to a status. */
  private final class Exchange {
    final HttpRequest request;
    final Buffer requestBody;
    final boolean keepAlive;
    final Instant start;
    final long startNanos;
    RouteTable.Route route;
    String clusterName;
    ClusterConfig cluster;
    ClusterStats clusterStats;
    int retries;
    long timer = -1;
    boolean finished;
    boolean headersSent;
    HttpClientRequest inFlight;
    long bytesSent;
    InetSocketAddress upstreamHost;
    InetSocketAddress upstreamLocal;
    MultiMap upstreamHeaders;
    String upstreamServiceTime;

    RequestBody streamedBody;

    /** @param body the whole request body, or null when it is streamed */
    Exchange(HttpRequest request, byte[] body, boolean keepAlive, Instant start, long startNanos) {
      this.request = request;
      this.requestBody = body == null ? null : Buffer.buffer(body);
      this.keepAlive = keepAlive;
      this.start = start;
      this.startNanos = startNanos;
    }

    void start(RouteTable.Route chosen) {
      route = chosen;
      clusterName = route.action().clusters().pick();
      cluster = downstream.config().clusters().get(clusterName);
      clusterStats = stats.cluster(clusterName);
      long timeout = route.action().timeoutMillis();
      if (timeout > 0) {
        timer = vertx.setTimer(timeout, id -> onTimeout());
      }
      attempt();
    }

    private void attempt() {
      InetSocketAddress target;
      if (cluster.type() == ClusterConfig.Type.ORIGINAL_DST) {
        if (downstream.config().isOwnListener(downstream.destination())) {
          // not redirected by iptables: dialling it would reach this proxy again, forever
          localReply(HttpResponseStatus.SERVICE_UNAVAILABLE, "no healthy upstream", "UH", Result.LOOP_REFUSED, false);
          return;
        }
        target = downstream.destination();
      } else {
        Optional<InetSocketAddress> endpoint = cluster.nextEndpoint();
        if (endpoint.isEmpty()) {
          clusterStats.noneHealthy.increment();
          localReply(HttpResponseStatus.SERVICE_UNAVAILABLE, "no healthy upstream", "UH", Result.NO_HEALTHY_UPSTREAM, false);
          return;
        }
        target = endpoint.get();
      }
      // LEAST_REQUEST counts requests in flight per endpoint; a retry moves the request to its new target
      if (upstreamHost != null) {
        cluster.balancer().ended(upstreamHost);
      }
      upstreamHost = target;
      cluster.balancer().started(target);
      if (upstreamHeaders == null) {
        // once per request: retries carry the same x-request-id, as Envoy's do
        upstreamHeaders = upstreamHeaders();
      }
      RequestOptions options = new RequestOptions()
          .setServer(SocketAddress.inetSocketAddress(target.getPort(), NetUtil.toAddressString(target.getAddress())))
          .setMethod(io.vertx.core.http.HttpMethod.valueOf(request.method().name()))
          .setURI(request.uri())
          .setHeaders(MultiMap.caseInsensitiveMultiMap().addAll(upstreamHeaders));
      long sentAt = System.nanoTime();
      upstreams.client(cluster, clusterStats).request(options).onComplete(connected -> {
        if (connected.failed()) {
          clusterStats.connectFailures.increment();
          if (cluster.balancer().connectFailed(target)) {
            clusterStats.ejections.increment();
          }
          if (!finished) {
            retryOr(route.action().retry().onConnectFailure(), () -> localReply(HttpResponseStatus.SERVICE_UNAVAILABLE,
                CONNECT_FAILURE, flags("UF"), Result.UPSTREAM_CONNECT_FAILED, false));
          }
          return;
        }
        HttpClientRequest upstream = connected.result();
        if (finished) {
          upstream.reset();
          return;
        }
        inFlight = upstream;
        SocketAddress local = upstream.connection().localAddress();
        upstreamLocal = local == null || local.hostAddress() == null ? null : new InetSocketAddress(local.hostAddress(), local.port());
        clusterStats.requests.increment();
        Future<HttpClientResponse> response;
        if (streamedBody != null) {
          if (HttpUtil.isContentLengthSet(request)) {
            upstream.putHeader(HttpHeaderNames.CONTENT_LENGTH, request.headers().get(HttpHeaderNames.CONTENT_LENGTH));
          } else {
            upstream.setChunked(true);
          }
          response = upstream.send(streamedBody);
        } else if (requestBody.length() == 0 && !request.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
            && !HttpUtil.isTransferEncodingChunked(request)) {
          response = upstream.send();
        } else {
          response = upstream.send(requestBody);
        }
        response.onComplete(ar -> onResponse(ar, sentAt));
      });
    }

    private void onResponse(AsyncResult<HttpClientResponse> ar, long sentAt) {
      if (finished) {
        if (ar.succeeded()) {
          ar.result().request().reset();
        }
        return;
      }
      if (ar.failed()) {
        inFlight = null;
        retryOr(route.action().retry().onReset(), () -> localReply(HttpResponseStatus.SERVICE_UNAVAILABLE, RESET, flags("UC"),
            Result.UPSTREAM_RESET, false));
        return;
      }
      HttpClientResponse response = ar.result();
      clusterStats.response(response.statusCode());
      if (upstreamHost != null && cluster.balancer().result(upstreamHost, response.statusCode())) {
        clusterStats.ejections.increment();
      }
      RouteTable.RetryPolicy retry = route.action().retry();
      if (retry.onStatus(response.statusCode()) && retries < retry.numRetries()) {
        // drain the failed attempt so its connection goes back to the pool
        response.body();
        inFlight = null;
        retryOr(true, null);
        return;
      }
      forward(response, sentAt, retry.onStatus(response.statusCode()) && retries > 0 ? "URX" : "-");
    }

    /** Retries when allowed and not exhausted, after Envoy's jittered exponential back-off; else gives up. */
    private void retryOr(boolean retriable, Runnable giveUp) {
      if (retriable && retries < route.action().retry().numRetries()) {
        retries++;
        clusterStats.retries.increment();
        long backOff = 1 + ThreadLocalRandom.current().nextLong(RETRY_BASE_MILLIS << Math.min(retries - 1, 10));
        vertx.setTimer(backOff, id -> {
          if (!finished) {
            attempt();
          }
        });
      } else {
        giveUp.run();
      }
    }

    private String flags(String base) {
      return retries > 0 ? base + ",URX" : base;
    }

    private MultiMap upstreamHeaders() {
      Set<String> named = new HashSet<>();
      for (String c : request.headers().getAll(HttpHeaderNames.CONNECTION)) {
        for (String token : c.split(",")) {
          named.add(token.trim().toLowerCase(Locale.ROOT));
        }
      }
      MultiMap headers = MultiMap.caseInsensitiveMultiMap();
      for (Map.Entry<String, String> e : request.headers()) {
        String name = e.getKey().toLowerCase(Locale.ROOT);
        if (!HOP_BY_HOP.contains(name) && !named.contains(name)) {
          headers.add(e.getKey(), e.getValue());
        }
      }
      String peer = NetUtil.toAddressString(downstream.peer().getAddress());
      String forwarded = request.headers().get("x-forwarded-for");
      headers.set("x-forwarded-for", forwarded == null ? peer : forwarded + ", " + peer);
      if (!headers.contains("x-forwarded-proto")) {
        headers.set("x-forwarded-proto", "http");
      }
      if (!headers.contains("x-request-id")) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        // a version 4 UUID without SecureRandom, which can block while the kernel gathers entropy
        headers.set("x-request-id", new UUID((r.nextLong() & ~0xF000L) | 0x4000L,
            (r.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L).toString());
      }
      return headers;
    }

    private void forward(HttpClientResponse response, long sentAt, String responseFlags) {
      headersSent = true;
      int status = response.statusCode();
      HttpResponse out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, new HttpResponseStatus(status, response.statusMessage()));
      Set<String> named = new HashSet<>();
      for (String c : response.headers().getAll(HttpHeaderNames.CONNECTION)) {
        for (String token : c.split(",")) {
          named.add(token.trim().toLowerCase(Locale.ROOT));
        }
      }
      for (Map.Entry<String, String> e : response.headers()) {
        String name = e.getKey().toLowerCase(Locale.ROOT);
        if ((!HOP_BY_HOP.contains(name) || name.equals("content-length")) && !named.contains(name)) {
          out.headers().add(e.getKey(), e.getValue());
        }
      }
      upstreamServiceTime = Long.toString((System.nanoTime() - sentAt) / 1_000_000);
      out.headers().set("x-envoy-upstream-service-time", upstreamServiceTime);
      boolean noBody = request.method().equals(HttpMethod.HEAD) || status == 204 || status == 304 || status < 200;
      if (!noBody && !out.headers().contains(HttpHeaderNames.CONTENT_LENGTH) && keepAlive) {
        HttpUtil.setTransferEncodingChunked(out, true);
      }
      boolean close = !keepAlive || (!noBody && !out.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
          && !HttpUtil.isTransferEncodingChunked(out));
      if (close) {
        out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      socket.writeMessage(out);
      response.pipe().endOnFailure(false).to(new ResponseBody()).onComplete(ar -> {
        if (finished) {
          return;
        }
        if (ar.failed()) {
          // the response is cut short: only closing tells the client
          finish(status, responseFlags.equals("-") ? "UPE" : responseFlags + ",UPE", Result.UPSTREAM_RESET, true);
        } else {
          finish(status, responseFlags, Result.OK, close);
        }
      });
    }

    private void onTimeout() {
      timer = -1;
      if (finished) {
        return;
      }
      clusterStats.timeouts.increment();
      if (headersSent) {
        finish(0, "UT", Result.UPSTREAM_TIMEOUT, true);
      } else {
        localReply(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream request timeout", "UT", Result.UPSTREAM_TIMEOUT, false);
      }
      resetUpstream();
    }

    void downstreamClosed() {
      finish(0, "DC", Result.OK, true);
      resetUpstream();
    }

    /** After finishing, so the failure the reset causes finds the exchange over and is ignored. */
    private void resetUpstream() {
      if (inFlight != null) {
        inFlight.reset();
        inFlight = null;
      }
    }

    void localReply(HttpResponseStatus status, String text, String responseFlags, Result result, boolean close) {
      if (finished) {
        return;
      }
      boolean closing = close || !keepAlive;
      socket.writeMessage(HttpConnectionManager.localReply(status, text, closing));
      bytesSent = text.getBytes(StandardCharsets.UTF_8).length;
      finish(status.code(), responseFlags, result, closing);
    }

    private void finish(int status, String responseFlags, Result result, boolean close) {
      finished = true;
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
      long received = streamedBody != null ? streamedBody.bytes : requestBody.length();
      if (upstreamHost != null) {
        cluster.balancer().ended(upstreamHost);
      }
      // the headers as sent upstream (x-request-id, x-forwarded-for added), else as received
      MultiMap sent = upstreamHeaders;
      log(start, startNanos, clusterName, received, bytesSent, result, new AccessLog.Http(request.method().name(), request.uri(),
          status, responseFlags, "HTTP/" + request.protocolVersion().majorVersion() + "." + request.protocolVersion().minorVersion(),
          name -> sent != null ? sent.get(name.equals(":authority") ? "host" : name) : header(request, name),
          upstreamServiceTime, upstreamHost, upstreamLocal));
      requestDone(this, close);
    }

    /** The response body, written to the downstream connection as HTTP content with its write queue's backpressure. */
    private final class ResponseBody implements WriteStream<Buffer> {

      @Override
      public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
        return this;
      }

      @Override
      public Future<Void> write(Buffer data) {
        bytesSent += data.length();
        return socket.writeMessage(new DefaultHttpContent(((BufferInternal) data).getByteBuf()));
      }

      @Override
      public Future<Void> end() {
        return socket.writeMessage(LastHttpContent.EMPTY_LAST_CONTENT);
      }

      @Override
      public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
        return this;
      }

      @Override
      public boolean writeQueueFull() {
        return socket.writeQueueFull();
      }

      @Override
      public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
        socket.drainHandler(handler);
        return this;
      }
    }
  }

  /**
   * The body of a streamed request as a Vert.x {@code ReadStream}, fed by the codec's content messages:
   * pausing it pauses reading from the client (backpressure), and chunks that arrive before the upstream
   * request reads them wait here.
   */
  private final class RequestBody implements io.vertx.core.streams.ReadStream<Buffer> {
    private final java.util.ArrayDeque<Buffer> pending = new java.util.ArrayDeque<>();
    private Handler<Buffer> handler;
    private Handler<Void> endHandler;
    private long demand = Long.MAX_VALUE;
    private boolean ended;
    private boolean endDelivered;
    long bytes;

    /** One content message from the codec; its last one ends the body and pauses the connection until the response is done. */
    void push(HttpContent content) {
      if (content.content().isReadable()) {
        Buffer chunk = Buffer.buffer(ByteBufUtil.getBytes(content.content()));
        bytes += chunk.length();
        pending.add(chunk);
      }
      if (content instanceof LastHttpContent) {
        ended = true;
        head = null;
        streaming = null;
        if (current != null) {
          socket.pause();
        }
      }
      deliver();
    }

    private void deliver() {
      while (demand > 0 && handler != null && !pending.isEmpty()) {
        if (demand != Long.MAX_VALUE) {
          demand--;
        }
        handler.handle(pending.poll());
      }
      if (ended && pending.isEmpty() && !endDelivered && endHandler != null) {
        endDelivered = true;
        endHandler.handle(null);
      }
      if (!ended) {
        // read from the client only while the upstream wants more
        if (demand > 0 && handler != null) {
          socket.resume();
        } else {
          socket.pause();
        }
      }
    }

    @Override
    public RequestBody exceptionHandler(Handler<Throwable> h) {
      return this;
    }

    @Override
    public RequestBody handler(Handler<Buffer> h) {
      handler = h;
      deliver();
      return this;
    }

    @Override
    public RequestBody pause() {
      demand = 0;
      deliver();
      return this;
    }

    @Override
    public RequestBody resume() {
      return fetch(Long.MAX_VALUE);
    }

    @Override
    public RequestBody fetch(long amount) {
      demand = amount == Long.MAX_VALUE || demand > Long.MAX_VALUE - amount ? Long.MAX_VALUE : demand + amount;
      deliver();
      return this;
    }

    @Override
    public RequestBody endHandler(Handler<Void> h) {
      endHandler = h;
      deliver();
      return this;
    }
  }
}
