package io.vmesh.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.NetUtil;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.impl.headers.HeadersAdaptor;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.HostAndPort;
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
import java.time.Instant;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One request, from routing to the last byte of its response (trailers included), failures mapped to
 * Envoy's local replies and response flags — as gRPC statuses for gRPC requests. The downstream side is a
 * {@link RequestReader.Transport}, so the same exchange serves HTTP/1.1 and HTTP/2. Upstream HTTP/1.1
 * goes over a pooled Netty channel of the same event loop ({@link Http1Upstreams}): the request written
 * as Netty message objects, the response's objects written downstream as they are read, reading paused
 * while the client's side is full. Upstream HTTP/2 goes through a Vert.x {@code HttpClient}, its body piped.
 */
final class HttpExchange implements Http1Upstreams.Exchange, Http1Upstreams.Waiter {

  /** Envoy's default retry back-off base interval. */
  private static final long RETRY_BASE_MILLIS = 25;
  private static final AsciiString[] HOP_BY_HOP = {HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE,
      HttpHeaderNames.PROXY_CONNECTION, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE, HttpHeaderNames.TE,
      HttpHeaderNames.TRAILER, HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.EXPECT};
  private static final AsciiString HTTP2_CONVERSION = AsciiString.cached("x-http2-");
  private static final AsciiString SERVICE_TIME = AsciiString.cached("x-envoy-upstream-service-time");
  // what goes upstream was validated when the codec decoded it, or is the proxy's own (addresses, a UUID)
  private static final DefaultHttpHeadersFactory UPSTREAM_HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
  private static final String CONNECT_FAILURE = "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
  private static final String RESET = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";

  private final HttpScope scope;
  // the configuration this request was routed with: its clusters, to the end of the request
  private final RuntimeConfig config;
  private final RequestReader reader;
  private final RequestReader.Transport transport;
  private final HttpRequest request;
  // the same bytes for HTTP/1.1 upstreams: wrapped afresh at each attempt, so a retry resends them
  private final byte[] bodyBytes;
  private final RequestBody streamedBody;
  // false from the response head on when the connection started draining (or the client half-closed) meanwhile
  private boolean keepAlive;
  private final Instant start;
  private final long startNanos;
  private final boolean grpc;
  private RouteTable.Route route;
  private String clusterName;
  private ClusterConfig cluster;
  private ClusterStats clusterStats;
  private int retries;
  /** The route's timeout is set (on the reader, which serves one exchange at a time). */
  private boolean timed;
  private boolean finished;
  private boolean headersSent;
  /** the status sent downstream once the headers have gone, for the access log of a stream cut short later */
  private int sentStatus;
  private boolean downstreamWriteFailed;
  private HttpClientRequest inFlight;
  private long bytesSent;
  private InetSocketAddress upstreamHost;
  private InetSocketAddress upstreamLocal;
  /** The request's headers as they go upstream, made once: every attempt and the access log read them. */
  private HttpHeaders upstreamHeaders;
  private String upstreamServiceTime;
  /** The HTTP/1.1 upstream connection this attempt holds. */
  private Http1Upstreams.Connection connection;
  private long attemptSentAt;
  /** A reused connection closed before answering was already replaced by a fresh one, once (as Envoy does). */
  private boolean staleRetried;
  private boolean trailersOnly;
  private boolean closeAfter;
  private String forwardFlags;
  /** An HTTP/1.1 upgrade request's tunnel, from its head on; null for every other request. */
  private UpgradeTunnel tunnel;

  /**
   * @param body the whole request body, or null when it is streamed
   * @param streamedBody the streamed request body, or null when it was read whole
   */
  HttpExchange(HttpScope scope, RuntimeConfig config, RequestReader reader, RequestReader.Transport transport, HttpRequest request,
               byte[] body, RequestBody streamedBody, boolean keepAlive, Instant start, long startNanos) {
    this.scope = scope;
    this.config = config;
    this.reader = reader;
    this.transport = transport;
    this.request = request;
    this.bodyBytes = body;
    this.streamedBody = streamedBody;
    this.keepAlive = keepAlive;
    this.start = start;
    this.startNanos = startNanos;
    this.grpc = GrpcStatus.isGrpc(request.headers().get(HttpHeaderNames.CONTENT_TYPE));
  }

  RequestBody streamedBody() {
    return streamedBody;
  }

  boolean keepAlive() {
    return keepAlive;
  }

  /** An upgrade request its route enables: it goes upstream, and becomes {@code t} if the upstream answers 101. */
  void startUpgrade(RouteTable.Route chosen, UpgradeTunnel t) {
    tunnel = t;
    t.listener(this::tunnelEnded);
    start(chosen);
  }

  void start(RouteTable.Route chosen) {
    route = chosen;
    clusterName = route.action().clusters().pick();
    cluster = config.clusters().get(clusterName);
    clusterStats = scope.stats().cluster(clusterName);
    if (tunnel != null && cluster.httpProtocol().http2(scope.http2())) {
      // Envoy would send an extended CONNECT (RFC 8441), which the HTTP/2 client here cannot: refused as an upgrade
      localReply(HttpResponseStatus.FORBIDDEN, "", "-", Result.UPGRADE_FAILED, true);
      return;
    }
    long timeout = route.action().timeoutMillis();
    if (timeout > 0) {
      timed = true;
      reader.routeTimeout(timeout, this::onTimeout);
    }
    attempt();
  }

  private void attempt() {
    InetSocketAddress target;
    if (cluster.type() == ClusterConfig.Type.ORIGINAL_DST) {
      if (config.isOwnListener(scope.downstream().destination())) {
        // not redirected by iptables: dialling it would reach this proxy again, forever
        localReply(HttpResponseStatus.SERVICE_UNAVAILABLE, "no healthy upstream", "UH", Result.LOOP_REFUSED, false);
        return;
      }
      target = scope.downstream().destination();
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
    if (!cluster.httpProtocol().http2(scope.http2())) {
      // an upgrade takes a new connection: it never goes back to the pool, and a stale one could not be retried
      attemptHttp1(tunnel != null);
      return;
    }
    RequestOptions options = new RequestOptions()
        .setServer(SocketAddress.inetSocketAddress(target.getPort(), NetUtil.toAddressString(target.getAddress())))
        .setMethod(io.vertx.core.http.HttpMethod.valueOf(request.method().name()))
        .setURI(request.uri())
        // the client request copies them, so a retry starts from these again
        .setHeaders(new HeadersAdaptor(upstreamHeaders));
    long sentAt = System.nanoTime();
    scope.upstreams().client(cluster, clusterStats, scope.http2(), target.getAddress()).request(options).onComplete(connected -> {
      if (connected.failed()) {
        connectFailed(target);
        return;
      }
      HttpClientRequest upstream = connected.result();
      if (finished) {
        upstream.reset();
        return;
      }
      inFlight = upstream;
      scope.upstreams().started(cluster, clusterStats, upstream);
      SocketAddress local = upstream.connection().localAddress();
      upstreamLocal = local == null || local.hostAddress() == null ? null : new InetSocketAddress(local.hostAddress(), local.port());
      if (cluster.httpProtocol().http2(scope.http2())) {
        // HTTP/2 carries Host as :authority; a server refuses a Host header that differs from it
        String host = upstream.headers().get(HttpHeaderNames.HOST);
        upstream.headers().remove(HttpHeaderNames.HOST);
        HostAndPort authority = host == null ? null : HostAndPort.parseAuthority(host, -1);
        if (authority != null) {
          upstream.authority(authority);
        }
      }
      clusterStats.requests.increment();
      Future<HttpClientResponse> response;
      if (streamedBody != null) {
        if (HttpUtil.isContentLengthSet(request)) {
          upstream.putHeader(HttpHeaderNames.CONTENT_LENGTH, request.headers().get(HttpHeaderNames.CONTENT_LENGTH));
        } else {
          upstream.setChunked(true);
        }
        response = upstream.send(streamedBody);
      } else if (bodyBytes.length == 0 && !request.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
          && !HttpUtil.isTransferEncodingChunked(request)) {
        response = upstream.send();
      } else {
        response = upstream.send(Buffer.buffer(bodyBytes));
      }
      response.onComplete(ar -> onResponse(ar, sentAt));
    });
  }

  private void connectFailed(InetSocketAddress target) {
    clusterStats.connectFailures.increment();
    if (cluster.balancer().connectFailed(target)) {
      clusterStats.ejections.increment();
    }
    if (!finished) {
      retryOr(route.action().retry().onConnectFailure(), () -> localReply(HttpResponseStatus.SERVICE_UNAVAILABLE,
          CONNECT_FAILURE, flags("UF"), Result.UPSTREAM_CONNECT_FAILED, false));
    }
  }

  /** @param fresh a new connection, not a pooled one */
  private void attemptHttp1(boolean fresh) {
    attemptSentAt = System.nanoTime();
    scope.upstreams().http1().acquire(cluster, clusterStats, upstreamHost, scope.context().nettyEventLoop(), fresh, this);
  }

  @Override
  public void failed(Throwable cause) {
    connectFailed(upstreamHost);
  }

  @Override
  public void ready(Http1Upstreams.Connection c) {
    if (finished) {
      c.unused();
      return;
    }
    connection = c;
    upstreamLocal = c.channel.localAddress() instanceof InetSocketAddress local ? local : null;
    clusterStats.requests.increment();
    HttpHeaders headers = upstreamHeaders;
    boolean addHost = !headers.contains(HttpHeaderNames.HOST);
    boolean bodyLength = streamedBody == null && (bodyBytes.length > 0 || request.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
        || HttpUtil.isTransferEncodingChunked(request));
    if (addHost || bodyLength || streamedBody != null || tunnel != null) {
      // what this attempt adds stays out of the shared headers: the access log shows them as the client sent them
      headers = headers.copy();
    }
    if (addHost) {
      headers.set(HttpHeaderNames.HOST, NetUtil.toSocketAddressString(upstreamHost));
    }
    Channel channel = c.channel;
    if (tunnel != null) {
      upgradeRequest(c, headers);
      return;
    }
    if (streamedBody != null) {
      if (HttpUtil.isContentLengthSet(request)) {
        headers.set(HttpHeaderNames.CONTENT_LENGTH, request.headers().get(HttpHeaderNames.CONTENT_LENGTH));
      } else {
        headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      }
      c.hold(this, false);
      channel.writeAndFlush(new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(), headers), channel.voidPromise());
      streamedBody.handler(chunk -> {
        if (connection == c) {
          channel.writeAndFlush(new DefaultHttpContent(((BufferInternal) chunk).getByteBuf()), channel.voidPromise());
          if (!channel.isWritable()) {
            // the upstream reads slower than the client sends: stop reading the client until it catches up
            streamedBody.pause();
          }
        }
      });
      streamedBody.endHandler(v -> {
        if (connection == c) {
          channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT, channel.voidPromise());
          c.requestEnded();
        }
      });
      return;
    }
    if (bodyLength) {
      headers.set(HttpHeaderNames.CONTENT_LENGTH, bodyBytes.length);
    }
    c.hold(this, true);
    // write failures close the connection: channelInactive reports them as a reset
    channel.writeAndFlush(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(),
        bodyBytes.length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bodyBytes), headers, EmptyHttpHeaders.INSTANCE),
        channel.voidPromise());
  }

  /**
   * The upgrade request goes with {@code Connection: upgrade}, its {@code Upgrade} and its own framing headers; then the
   * encoder leaves the upstream pipeline, since whatever the client sends after the head follows as it is.
   */
  private void upgradeRequest(Http1Upstreams.Connection c, HttpHeaders headers) {
    headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
    headers.set(HttpHeaderNames.UPGRADE, request.headers().get(HttpHeaderNames.UPGRADE));
    for (CharSequence framing : List.of(HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.TRANSFER_ENCODING)) {
      if (request.headers().contains(framing)) {
        headers.set(framing, request.headers().get(framing));
      }
    }
    // never pooled again: answered with anything but 101, it is closed after that answer
    c.hold(this, false);
    c.channel.writeAndFlush(new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(), headers), c.channel.voidPromise());
    HttpClientCodec codec = c.channel.pipeline().get(HttpClientCodec.class);
    if (codec != null) {
      codec.removeOutboundHandler();
    }
    tunnel.attach(c.channel);
  }

  @Override
  public void onWritable(Http1Upstreams.Connection c) {
    if (c == connection && tunnel != null) {
      tunnel.upstreamWritable();
      return;
    }
    if (c == connection && streamedBody != null && c.channel.isWritable()) {
      streamedBody.resume();
    }
  }

  @Override
  public void onHead(Http1Upstreams.Connection c, HttpResponse head) {
    if (c != connection || finished) {
      c.abort();
      return;
    }
    int status = head.status().code();
    if (tunnel != null && status == 101) {
      upgraded(c, head);
      return;
    }
    if (tunnel != null) {
      // another answer to an upgrade request: forwarded as it is, then both connections end
      tunnel.abandon();
      keepAlive = false;
    }
    if (retryOnStatus(status)) {
      connection = null;
      c.discard();
      retryOr(true, null);
      return;
    }
    forwardFlags = route.action().retry().onStatus(status) && retries > 0 ? "URX" : "-";
    HttpHeaders in = head.headers();
    trailersOnly = GrpcStatus.isGrpc(in.get(HttpHeaderNames.CONTENT_TYPE)) && in.contains(GrpcStatus.STATUS);
    HttpResponse out;
    if (trailersOnly || head instanceof HttpContent) {
      out = responseHead(status, trailersOnly ? null : head.status(), in, in.getAll(HttpHeaderNames.CONNECTION), attemptSentAt);
    } else {
      // the upstream's head goes downstream itself, hop-by-hop headers taken out: no copy of the headers
      // (the codec read what it needed from them when it decoded the head)
      // removal ignores case: the named headers need no set of lower-cased names here
      for (String connection : in.getAll(HttpHeaderNames.CONNECTION)) {
        for (String named : connection.split(",")) {
          in.remove(named.trim());
        }
      }
      for (AsciiString name : HOP_BY_HOP) {
        if (name != HttpHeaderNames.CONTENT_LENGTH) {
          in.remove(name);
        }
      }
      head.setProtocolVersion(HttpVersion.HTTP_1_1);
      out = head;
      headSent(status, out, false, attemptSentAt);
    }
    closeAfter = trailersOnly ? !keepAlive : closeAfter(out, status);
    transport.send(out);
  }

  /**
   * 101 to an upgrade request: the answer goes downstream with its {@code Connection: upgrade} and {@code Upgrade}, and
   * the two connections become the tunnel. The route timeout covered the wait for this answer; the tunnel has the
   * connection manager's {@code stream_idle_timeout} instead, as in Envoy.
   */
  private void upgraded(Http1Upstreams.Connection c, HttpResponse head) {
    if (timed) {
      timed = false;
      reader.routeTimeoutOff();
    }
    retryOnStatus(101);
    connection = null;
    c.detach();
    forwardFlags = "-";
    HttpHeaders in = head.headers();
    HttpResponse out = responseHead(101, head.status(), in, in.getAll(HttpHeaderNames.CONNECTION), attemptSentAt);
    out.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
    out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
    if (in.contains(HttpHeaderNames.UPGRADE)) {
      out.headers().set(HttpHeaderNames.UPGRADE, in.get(HttpHeaderNames.UPGRADE));
    }
    reader.upgraded();
    ProxyStats.HttpStats stats = scope.stats().http(scope.hcm().statPrefix());
    stats.upgrades.increment();
    stats.upgradesActive.incrementAndGet();
    tunnel.upgrade(out);
  }

  /** Both connections of the tunnel are closed: the request's one access-log line, status 101. */
  private void tunnelEnded(UpgradeTunnel.End end) {
    ProxyStats.HttpStats stats = scope.stats().http(scope.hcm().statPrefix());
    stats.upgradesActive.decrementAndGet();
    if (end.result() == Result.STREAM_IDLE_TIMEOUT) {
      stats.streamIdleTimeouts.increment();
    }
    bytesSent = tunnel.bytesSent();
    finish(101, end.flags(), end.result(), true);
  }

  @Override
  public void onContent(Http1Upstreams.Connection c, HttpContent content) {
    if (c != connection || finished) {
      content.release();
      return;
    }
    boolean last = content instanceof LastHttpContent;
    if (last) {
      // the connection goes back to its pool now: a drain handler left behind must not touch it
      connection = null;
    }
    if (trailersOnly) {
      content.release();
      if (last) {
        finish(sentStatus, forwardFlags, Result.OK, closeAfter);
      }
      return;
    }
    bytesSent += content.content().readableBytes();
    Future<Void> written = transport.write(content);
    if (last) {
      written.onComplete(ar -> {
        if (!finished) {
          responseWritten(ar.succeeded(), sentStatus, forwardFlags, closeAfter);
        }
      });
      return;
    }
    if (written.failed()) {
      downstreamWriteFailed = true;
      responseWritten(false, sentStatus, forwardFlags, closeAfter);
      resetUpstream();
    } else if (transport.writeQueueFull()) {
      // the client reads slower than the upstream sends: stop reading the upstream until it catches up
      c.channel.config().setAutoRead(false);
      transport.drainHandler(v -> {
        if (connection == c) {
          c.channel.config().setAutoRead(true);
        }
      });
    }
  }

  @Override
  public void onClosed(Http1Upstreams.Connection c, boolean responseStarted) {
    if (c != connection || finished) {
      return;
    }
    connection = null;
    if (!responseStarted) {
      if (c.reused() && !staleRetried && streamedBody == null) {
        // the server closed a kept-alive connection as the request went out: once more on a new one, not a retry
        staleRetried = true;
        attemptHttp1(true);
        return;
      }
      retryOr(route.action().retry().onReset(), () -> localReply(HttpResponseStatus.SERVICE_UNAVAILABLE, RESET, flags("UC"),
          Result.UPSTREAM_RESET, false));
      return;
    }
    // the response is cut short upstream: only closing (HTTP/1.1) or resetting the stream (HTTP/2) tells the client
    finish(sentStatus, forwardFlags.equals("-") ? "UC" : forwardFlags + ",UC", Result.UPSTREAM_RESET_AFTER_RESPONSE, true);
  }

  /** Counts the status (stats, outlier detection); whether the route retries on it with retries left. */
  private boolean retryOnStatus(int status) {
    clusterStats.response(status);
    if (upstreamHost != null && cluster.balancer().result(upstreamHost, status)) {
      clusterStats.ejections.increment();
    }
    RouteTable.RetryPolicy retry = route.action().retry();
    // an upgrade request's later bytes went upstream already: it cannot be sent again
    return tunnel == null && retry.onStatus(status) && retries < retry.numRetries();
  }

  /** The whole response went downstream ({@code ok}), or writing it failed: the client went away mid-response. */
  private void responseWritten(boolean ok, int status, String responseFlags, boolean close) {
    if (ok) {
      finish(status, responseFlags, Result.OK, close);
    } else {
      // a probe that reads only the status line: Envoy's DC, not an upstream fault
      finish(status, responseFlags.equals("-") ? "DC" : responseFlags + ",DC", Result.OK, true);
    }
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
    RouteTable.RetryPolicy retry = route.action().retry();
    if (retryOnStatus(response.statusCode())) {
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
    // an upgrade is retried only before it reached an upstream (a connect failure)
    if (retriable && retries < route.action().retry().numRetries() && (tunnel == null || !tunnel.attached())) {
      retries++;
      clusterStats.retries.increment();
      long backOff = 1 + ThreadLocalRandom.current().nextLong(RETRY_BASE_MILLIS << Math.min(retries - 1, 10));
      scope.vertx().setTimer(backOff, id -> {
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

  /** The header names a {@code Connection} header lists: hop-by-hop too. */
  private static Set<String> connectionNamed(List<String> connectionHeaders) {
    if (connectionHeaders.isEmpty()) {
      return Set.of();
    }
    Set<String> named = new HashSet<>();
    for (String c : connectionHeaders) {
      for (String token : c.split(",")) {
        named.add(token.trim().toLowerCase(Locale.ROOT));
      }
    }
    return named;
  }

  /** Whether {@code name} is one of the hop-by-hop headers, any case. */
  private static boolean hopByHop(CharSequence name) {
    for (AsciiString h : HOP_BY_HOP) {
      if (h.contentEqualsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  private static boolean named(Set<String> named, CharSequence name) {
    return !named.isEmpty() && named.contains(name.toString().toLowerCase(Locale.ROOT));
  }

  private HttpHeaders upstreamHeaders() {
    Set<String> named = connectionNamed(request.headers().getAll(HttpHeaderNames.CONNECTION));
    HttpHeaders headers = UPSTREAM_HEADERS.newHeaders();
    Iterator<Map.Entry<CharSequence, CharSequence>> it = request.headers().iteratorCharSequence();
    while (it.hasNext()) {
      Map.Entry<CharSequence, CharSequence> e = it.next();
      CharSequence name = e.getKey();
      // Netty's HTTP/2-to-HTTP/1 conversion adds x-http2-stream-id and x-http2-scheme: not the client's
      boolean conversion = scope.http2() && AsciiString.regionMatches(name, true, 0, HTTP2_CONVERSION, 0, HTTP2_CONVERSION.length());
      // "te: trailers" is end-to-end (HTTP/2 allows it, gRPC servers require it); any other TE is hop-by-hop
      boolean teTrailers = HttpHeaderNames.TE.contentEqualsIgnoreCase(name) && e.getValue().toString().trim().equalsIgnoreCase("trailers");
      if ((!hopByHop(name) || teTrailers) && !named(named, name) && !conversion) {
        headers.add(name, e.getValue());
      }
    }
    String peer = scope.peerAddress();
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

  /**
   * The response head as it goes downstream: hop-by-hop headers dropped, x-envoy-upstream-service-time added;
   * headers sent from here on. A null {@code status} makes gRPC's Trailers-Only answer (grpc-status in the
   * headers): one HEADERS frame that ends the stream.
   */
  private HttpResponse responseHead(int code, HttpResponseStatus status, Iterable<Map.Entry<String, String>> headers,
                                    List<String> connectionHeaders, long sentAt) {
    Set<String> named = connectionNamed(connectionHeaders);
    HttpResponse out = status == null
        ? new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code), Unpooled.EMPTY_BUFFER)
        : new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
    for (Map.Entry<String, String> e : headers) {
      String name = e.getKey();
      if ((!hopByHop(name) || HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(name)) && !named(named, name)) {
        out.headers().add(e.getKey(), e.getValue());
      }
    }
    headSent(code, out, status == null, sentAt);
    return out;
  }

  /** The response head {@code out} goes downstream now: x-envoy-upstream-service-time added; headers sent from here on. */
  private void headSent(int code, HttpResponse out, boolean trailersOnly, long sentAt) {
    headersSent = true;
    sentStatus = code;
    recheckKeepAlive();
    upstreamServiceTime = Long.toString((System.nanoTime() - sentAt) / 1_000_000);
    out.headers().set(SERVICE_TIME, upstreamServiceTime);
    if (trailersOnly) {
      HttpUtil.setContentLength(out, 0);
      if (!keepAlive) {
        out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
    }
  }

  /** Whether the downstream connection closes after this response: chunked where it can be, closed where the body ends with the connection. */
  private boolean closeAfter(HttpResponse out, int status) {
    boolean noBody = request.method().equals(HttpMethod.HEAD) || status == 204 || status == 304 || status < 200;
    if (!noBody && !out.headers().contains(HttpHeaderNames.CONTENT_LENGTH) && keepAlive) {
      HttpUtil.setTransferEncodingChunked(out, true);
    }
    boolean close = !keepAlive || (!noBody && !out.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
        && !HttpUtil.isTransferEncodingChunked(out));
    if (close) {
      out.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return close;
  }

  private void forward(HttpClientResponse response, long sentAt, String responseFlags) {
    int status = response.statusCode();
    boolean trailersOnly = GrpcStatus.isGrpc(response.getHeader(HttpHeaderNames.CONTENT_TYPE))
        && response.headers().contains(GrpcStatus.STATUS);
    HttpResponse out = responseHead(status, trailersOnly ? null : new HttpResponseStatus(status, response.statusMessage()),
        response.headers(), response.headers().getAll(HttpHeaderNames.CONNECTION), sentAt);
    if (trailersOnly) {
      transport.write(out);
      response.end().onComplete(ar -> {
        if (!finished) {
          finish(status, responseFlags, Result.OK, !keepAlive);
        }
      });
      return;
    }
    boolean close = closeAfter(out, status);
    transport.write(out);
    response.pipe().endOnFailure(false).to(new ResponseBody(response)).onComplete(ar -> {
      if (finished) {
        return;
      }
      if (ar.failed()) {
        if (downstreamWriteFailed) {
          responseWritten(false, status, responseFlags, true);
          resetUpstream();
          return;
        }
        // the response is cut short upstream: only closing (HTTP/1.1) or resetting the stream (HTTP/2) tells the client
        finish(status, responseFlags.equals("-") ? "UC" : responseFlags + ",UC", Result.UPSTREAM_RESET_AFTER_RESPONSE, true);
      } else {
        finish(status, responseFlags, Result.OK, close);
      }
    });
  }

  private void onTimeout() {
    timed = false;
    if (finished) {
      return;
    }
    clusterStats.timeouts.increment();
    if (headersSent) {
      finish(sentStatus, "UT", Result.UPSTREAM_TIMEOUT, true);
    } else {
      localReply(HttpResponseStatus.GATEWAY_TIMEOUT, "upstream request timeout", "UT", Result.UPSTREAM_TIMEOUT, false);
    }
    resetUpstream();
  }

  /** Whether the response headers have gone downstream. */
  boolean responseStarted() {
    return headersSent;
  }

  /** stream_idle_timeout or request_timeout: 408 if the response has not begun, else the stream is cut. */
  void timedOut(String text, Result result) {
    if (finished) {
      return;
    }
    if (headersSent) {
      finish(sentStatus, result.flag(), result, true);
    } else {
      localReply(HttpResponseStatus.REQUEST_TIMEOUT, text, result.flag(), result, true);
    }
    resetUpstream();
  }

  void downstreamClosed() {
    if (tunnel != null && tunnel.upgraded()) {
      tunnel.downstreamClosed();
      return;
    }
    if (finished) {
      return;
    }
    finish(sentStatus, "DC", Result.OK, true);
    resetUpstream();
  }

  /** After finishing, so the failure the reset causes finds the exchange over and is ignored. */
  private void resetUpstream() {
    if (connection != null) {
      connection.abort();
      connection = null;
    }
    if (inFlight != null) {
      inFlight.reset();
      inFlight = null;
    }
  }

  /**
   * A drain that began while the request was in flight (SIGTERM, /drain_listeners, max_connection_duration) still
   * reaches its response: it says {@code Connection: close}, as Envoy's does, so the client does not reuse the connection.
   */
  private void recheckKeepAlive() {
    if (keepAlive && !transport.keepAlive(request)) {
      keepAlive = false;
    }
  }

  /** A reply the proxy makes itself: text for HTTP, a gRPC status (HTTP 200) for a gRPC request, as Envoy does. */
  void localReply(HttpResponseStatus status, String text, String responseFlags, Result result, boolean close) {
    if (finished) {
      return;
    }
    recheckKeepAlive();
    boolean closing = close || !keepAlive;
    if (grpc) {
      transport.write(GrpcStatus.localReply(status.code(), text, closing));
      finish(HttpResponseStatus.OK.code(), responseFlags, result, closing);
      return;
    }
    transport.write(localReply(status, text, closing));
    bytesSent = text.getBytes(StandardCharsets.UTF_8).length;
    finish(status.code(), responseFlags, result, closing);
  }

  static FullHttpResponse localReply(HttpResponseStatus status, String text, boolean close) {
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

  private void finish(int status, String responseFlags, Result result, boolean close) {
    finished = true;
    if (timed) {
      timed = false;
      reader.routeTimeoutOff();
    }
    if (tunnel != null && !tunnel.upgraded()) {
      tunnel.abandon();
    }
    long received = tunnel != null ? tunnel.bytesReceived() : streamedBody != null ? streamedBody.bytes() : bodyBytes.length;
    if (upstreamHost != null) {
      cluster.balancer().ended(upstreamHost);
    }
    // the headers as sent upstream (x-request-id, x-forwarded-for added), else as received
    HttpHeaders sent = upstreamHeaders;
    scope.log(start, startNanos, clusterName, received, bytesSent, result, new AccessLog.Http(request.method().name(), request.uri(),
        status, responseFlags, protocol(),
        name -> sent != null ? sent.get(name.equals(":authority") ? "host" : name) : RequestReader.header(request, name),
        upstreamServiceTime, upstreamHost, upstreamLocal));
    reader.exchangeDone(this, close);
  }

  /** The request's protocol as the access log prints it; the common ones without building a string. */
  private String protocol() {
    HttpVersion v = request.protocolVersion();
    if (scope.http2()) {
      return "HTTP/2";
    }
    if (v == HttpVersion.HTTP_1_1) {
      return "HTTP/1.1";
    }
    return v == HttpVersion.HTTP_1_0 ? "HTTP/1.0" : "HTTP/" + v.majorVersion() + "." + v.minorVersion();
  }

  /** The response body, written downstream as HTTP content with the transport's backpressure, then its trailers. */
  private final class ResponseBody implements WriteStream<Buffer> {
    private final HttpClientResponse response;

    ResponseBody(HttpClientResponse response) {
      this.response = response;
    }

    @Override
    public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
      return this;
    }

    @Override
    public Future<Void> write(Buffer data) {
      bytesSent += data.length();
      return downstream(transport.write(new DefaultHttpContent(((BufferInternal) data).getByteBuf())));
    }

    @Override
    public Future<Void> end() {
      MultiMap trailers = response.trailers();
      if (trailers.isEmpty()) {
        return downstream(transport.write(LastHttpContent.EMPTY_LAST_CONTENT));
      }
      LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
      HttpHeaders out = last.trailingHeaders();
      trailers.forEach(e -> out.add(e.getKey(), e.getValue()));
      return downstream(transport.write(last));
    }

    /** Remembers a failed downstream write, so the pipe's failure is blamed on the client, not the upstream. */
    private Future<Void> downstream(Future<Void> write) {
      if (write.failed()) {
        downstreamWriteFailed = true;
        return write;
      }
      if (!write.isComplete()) {
        write.onFailure(e -> downstreamWriteFailed = true);
      }
      return write;
    }

    @Override
    public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
      return this;
    }

    @Override
    public boolean writeQueueFull() {
      return transport.writeQueueFull();
    }

    @Override
    public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
      transport.drainHandler(handler);
      return this;
    }
  }
}
