package io.vmesh.proxy.http;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.internal.VertxInternal;
import io.vmesh.proxy.cluster.ClusterConfig;
import io.vmesh.proxy.stats.ProxyStats.ClusterStats;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * HTTP/1.1 connections to upstream endpoints for one event loop: plain Netty channels with Netty's client
 * codec, opened on that loop with Vert.x's transport (epoll), pooled per cluster, source address and
 * endpoint — kept alive, one request at a time, at most {@value #MAX_CONNECTIONS_PER_ENDPOINT} per
 * endpoint (requests beyond wait for one to come back). A request's response objects go to the
 * {@link Exchange} that holds the connection, which writes them downstream as they come. An idle
 * connection the server closes (FIN or RST) leaves the pool at once; one idle for the cluster's
 * {@code idle_timeout}, or done with its {@code max_requests_per_connection}-th request, is closed.
 */
final class Http1Upstreams {

  /** Envoy's default circuit breaker allows 1024 connections per cluster. */
  static final int MAX_CONNECTIONS_PER_ENDPOINT = 1024;

  /** What the holder of a connection hears from it; every call is on the event loop. */
  interface Exchange {

    /** The response head (1xx other than 101 are skipped). */
    void onHead(Connection connection, HttpResponse head);

    /** Body, then the last content with its trailers; owned by the receiver. The connection is released after the last. */
    void onContent(Connection connection, HttpContent content);

    /** The connection closed before the response ended; {@code responseStarted}: its head had come. */
    void onClosed(Connection connection, boolean responseStarted);

    /** The upstream socket's writability changed (backpressure for a streamed request body). */
    void onWritable(Connection connection);
  }

  /** How a connection is dialled, and how long it lives (the cluster's idle timeout and request limit, 0 for none). */
  private record Key(String cluster, long connectTimeoutMillis, String source, InetSocketAddress target, long idleMillis,
                     int maxRequests) {
  }

  /** A request waiting for a connection: ready with one, or failed with why. */
  interface Waiter {
    void ready(Connection connection);

    void failed(Throwable cause);
  }

  private final VertxInternal vertx;
  // only touched on the owning event loop
  private final Map<Key, Pool> pools = new HashMap<>();
  // the pool of the last acquire: requests come in runs to the same cluster and endpoint, and building and
  // hashing a key per request costs more than comparing two references
  private ClusterConfig lastCluster;
  private InetSocketAddress lastTarget;
  private Pool lastPool;

  Http1Upstreams(VertxInternal vertx) {
    this.vertx = vertx;
  }

  /**
   * A connection to {@code target} on {@code loop}: an idle one (the most recently used) unless {@code fresh},
   * else a new one, else the first to come back once the endpoint has its maximum.
   */
  void acquire(ClusterConfig cluster, ClusterStats stats, InetSocketAddress target, EventLoop loop, boolean fresh, Waiter waiter) {
    Pool last = lastPool;
    if (last != null && cluster == lastCluster && target == lastTarget) {
      last.acquire(fresh, waiter);
      return;
    }
    String source = cluster.sourceAddressFor(target.getAddress()).orElse(null);
    Key key = new Key(cluster.name(), cluster.connectTimeoutMillis(), source, target, cluster.httpProtocol().idleMillis(),
        cluster.httpProtocol().maxRequestsPerConnection());
    Pool pool = pools.get(key);
    if (pool == null) {
      pool = new Pool(key, stats, loop);
      pools.put(key, pool);
    }
    lastCluster = cluster;
    lastTarget = target;
    lastPool = pool;
    pool.acquire(fresh, waiter);
  }

  void close() {
    List<Channel> open = new ArrayList<>();
    pools.values().forEach(p -> p.idle.forEach(c -> open.add(c.channel)));
    pools.clear();
    lastPool = null;
    open.forEach(Channel::close);
  }

  private final class Pool {
    private final Key key;
    private final ClusterStats stats;
    private final EventLoop loop;
    private final ArrayDeque<Connection> idle = new ArrayDeque<>();
    private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
    private int open;

    Pool(Key key, ClusterStats stats, EventLoop loop) {
      this.key = key;
      this.stats = stats;
      this.loop = loop;
    }

    void acquire(boolean fresh, Waiter waiter) {
      if (!fresh) {
        Connection c;
        while ((c = idle.pollLast()) != null) {
          c.stopIdle();
          if (c.channel.isActive()) {
            c.reused = true;
            waiter.ready(c);
            return;
          }
        }
      }
      if (open >= MAX_CONNECTIONS_PER_ENDPOINT) {
        waiting.add(waiter);
        return;
      }
      connect(waiter);
    }

    private void connect(Waiter waiter) {
      open++;
      Bootstrap bootstrap = new Bootstrap()
          .group(loop)
          .channelFactory(vertx.transport().channelFactory(false))
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, key.connectTimeoutMillis()))
          .option(ChannelOption.TCP_NODELAY, true)
          .handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
              ch.pipeline().addLast(new HttpClientCodec(new HttpDecoderConfig()
                  .setMaxInitialLineLength(RequestReader.MAX_HEADERS_BYTES)
                  .setMaxHeaderSize(RequestReader.MAX_HEADERS_BYTES)
                  .setMaxChunkSize(64 * 1024), HttpClientCodec.DEFAULT_FAIL_ON_MISSING_RESPONSE,
                  HttpClientCodec.DEFAULT_PARSE_HTTP_AFTER_CONNECT_REQUEST));
              ch.pipeline().addLast(new Connection(Pool.this, ch));
            }
          });
      if (vertx.isNativeTransportEnabled() && Epoll.isAvailable()) {
        // a server that writes its head and body apart without TCP_NODELAY holds the body until the head is
        // acknowledged: Linux's delayed ACK would add 40 ms to such a response
        bootstrap.option(EpollChannelOption.TCP_QUICKACK, true);
      }
      ChannelFuture connecting = key.source() == null
          ? bootstrap.connect(key.target())
          : bootstrap.connect(key.target(), new InetSocketAddress(key.source(), 0));
      connecting.addListener(f -> {
        if (f.isSuccess()) {
          stats.connections.increment();
          waiter.ready(connecting.channel().pipeline().get(Connection.class));
        } else {
          // a failed connect never became a pooled connection: channelInactive may not come
          Connection c = connecting.channel().pipeline().get(Connection.class);
          if (c != null) {
            c.counted = false;
          }
          open--;
          waiter.failed(f.cause());
          next();
        }
      });
    }

    void release(Connection c) {
      Waiter w = waiting.poll();
      if (w != null) {
        c.reused = true;
        w.ready(c);
      } else {
        idle.add(c);
        if (key.idleMillis() > 0) {
          c.idleTimer = loop.schedule(() -> idleTimedOut(c), key.idleMillis(), TimeUnit.MILLISECONDS);
        }
      }
    }

    /** Envoy's upstream idle_timeout: a connection that stayed in the pool that long is closed. */
    private void idleTimedOut(Connection c) {
      c.idleTimer = null;
      if (idle.remove(c)) {
        stats.idleTimeouts.increment();
        c.channel.close();
      }
    }

    /** Whether the connection has served as many requests as the cluster allows one connection. */
    boolean exhausted(Connection c) {
      if (key.maxRequests() > 0 && c.requests >= key.maxRequests()) {
        stats.maxRequestsReached.increment();
        return true;
      }
      return false;
    }

    void closed(Connection c) {
      c.stopIdle();
      idle.remove(c);
      if (c.counted) {
        c.counted = false;
        open--;
        next();
      }
    }

    /** A slot freed: the first waiting request dials it; a pool left with nothing goes (original destinations are many). */
    private void next() {
      Waiter w = waiting.poll();
      if (w != null) {
        connect(w);
      } else if (open == 0) {
        pools.remove(key, this);
        if (lastPool == this) {
          lastPool = null;
        }
      }
    }
  }

  /** One upstream connection and the pipeline handler that reads its responses. */
  static final class Connection extends ChannelInboundHandlerAdapter {
    private final Pool pool;
    final Channel channel;
    private boolean counted = true;
    private Exchange holder;
    /** It served a request before this one: a failure before any response byte may be a close that crossed our request. */
    private boolean reused;
    private boolean requestEnded;
    private boolean responseStarted;
    private boolean responseKeepAlive;
    private boolean skippingInformational;
    /** The holder no longer wants the response (a retry on its status): read to its end, then pooled. */
    private boolean discarding;
    /** Requests written on it so far (max_requests_per_connection). */
    private int requests;
    private ScheduledFuture<?> idleTimer;

    private Connection(Pool pool, Channel channel) {
      this.pool = pool;
      this.channel = channel;
    }

    boolean reused() {
      return reused;
    }

    private void stopIdle() {
      if (idleTimer != null) {
        idleTimer.cancel(false);
        idleTimer = null;
      }
    }

    /** Starts a request: the caller writes it. */
    void hold(Exchange exchange, boolean requestEnded) {
      requests++;
      holder = exchange;
      this.requestEnded = requestEnded;
      responseStarted = false;
      discarding = false;
      skippingInformational = false;
    }

    /** The request's last byte is written (a streamed body ended). */
    void requestEnded() {
      requestEnded = true;
    }

    /** The holder is done with the response it has started: the rest is read and dropped, then the connection reused. */
    void discard() {
      holder = null;
      discarding = true;
      channel.config().setAutoRead(true);
    }

    /** The holder gives up on it (timeout, client gone): closed, as Envoy resets the upstream stream. */
    void abort() {
      holder = null;
      channel.close();
    }

    /** Out of the pool for good (an upgrade's 101 made it a tunnel): its slot frees and this handler leaves its pipeline. */
    Channel detach() {
      holder = null;
      pool.closed(this);
      channel.pipeline().remove(this);
      return channel;
    }

    /** Back to the pool without a request (the exchange ended before it was written). */
    void unused() {
      holder = null;
      pool.release(this);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpResponse head) {
        if (head.decoderResult().isFailure() || (holder == null && !discarding)) {
          // garbage, or a response nobody asked for: the connection cannot be trusted with another request
          ReferenceCountUtil.release(msg);
          ctx.close();
          return;
        }
        int code = head.status().code();
        if (code >= 100 && code < 200 && code != 101) {
          // 100 Continue and other interim responses: the final one follows
          skippingInformational = true;
          ReferenceCountUtil.release(msg);
          return;
        }
        responseStarted = true;
        responseKeepAlive = HttpUtil.isKeepAlive(head);
        if (holder != null) {
          holder.onHead(this, head);
        }
        if (msg instanceof HttpContent content) {
          content(ctx, content);
        }
        return;
      }
      if (msg instanceof HttpContent content) {
        content(ctx, content);
        return;
      }
      ReferenceCountUtil.release(msg);
    }

    private void content(ChannelHandlerContext ctx, HttpContent content) {
      if (skippingInformational) {
        skippingInformational = !(content instanceof LastHttpContent);
        content.release();
        return;
      }
      if (content.decoderResult().isFailure() || (holder == null && !discarding)) {
        // a body cut short (the codec's premature-close end) or malformed: channelInactive tells the holder
        content.release();
        ctx.close();
        return;
      }
      Exchange h = holder;
      if (!(content instanceof LastHttpContent)) {
        if (h != null) {
          h.onContent(this, content);
        } else {
          content.release();
        }
        return;
      }
      holder = null;
      discarding = false;
      // pooled before the holder finishes: a next request its finish lets in finds the connection idle
      if (requestEnded && responseKeepAlive && channel.isActive() && !pool.exhausted(this)) {
        channel.config().setAutoRead(true);
        pool.release(this);
      } else {
        channel.close();
      }
      if (h != null) {
        h.onContent(this, content);
      } else {
        content.release();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      pool.closed(this);
      Exchange h = holder;
      holder = null;
      if (h != null) {
        h.onClosed(this, responseStarted);
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (holder != null) {
        holder.onWritable(this);
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      // a reset, or a decoder error: closing reports it to the holder through channelInactive
      ctx.close();
    }
  }
}
