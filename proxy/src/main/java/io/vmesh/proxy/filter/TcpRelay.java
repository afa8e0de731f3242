package io.vmesh.proxy.filter;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.net.NetSocketInternal;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * Forwards bytes both ways between a downstream and an upstream socket, as Envoy's {@code tcp_proxy}
 * does: with backpressure (a side stops reading while the other's write queue is full), and with
 * TCP half-close carried across (a FIN from one peer becomes a FIN to the other once every byte
 * before it is written), so protocols that shut down their sending side and then read still work.
 * Created when the downstream connection is accepted, so nothing it sends (bytes or FIN) is lost
 * while the upstream is being dialled. Both sockets live on one event loop; every method runs there.
 * With an idle timeout, both sides are closed once no byte has moved either way for that long.
 */
public final class TcpRelay {

  private final NetSocketInternal downstream;
  private final Direction toUpstream;
  private final LongConsumer onSent;
  private final Promise<Void> done = Promise.promise();
  private NetSocketInternal upstream;
  private Direction toDownstream;
  private boolean downstreamClosed;
  private boolean upstreamClosed;
  private long idleTimeoutNanos;
  private long lastActivity;
  private ScheduledFuture<?> idleTimer;
  private boolean idleTimedOut;

  /**
   * Takes over an accepted socket: pauses it until {@link #connect} and watches it for FIN and close.
   *
   * @param onReceived called with the size of each chunk read from downstream
   * @param onSent     called with the size of each chunk read from upstream (and so sent downstream)
   */
  public TcpRelay(NetSocketInternal downstream, LongConsumer onReceived, LongConsumer onSent) {
    this(downstream, onReceived, onSent, null, false);
  }

  /**
   * As above, for a connection whose first bytes (and maybe FIN) were already read by a listener filter:
   * they go upstream first, before anything read later.
   *
   * @param alreadyRead bytes read from downstream so far, owned by the relay from now on; null for none
   * @param finAlreadyRead whether downstream already shut down its sending side
   */
  public TcpRelay(NetSocketInternal downstream, LongConsumer onReceived, LongConsumer onSent, ByteBuf alreadyRead,
                  boolean finAlreadyRead) {
    this.downstream = downstream;
    this.onSent = onSent;
    this.toUpstream = new Direction(downstream, onReceived);
    // ended connections stop their idle timer whichever side closed first
    downstream.channelHandlerContext().channel().closeFuture().addListener(f -> cancelIdleTimer());
    toUpstream.initial = alreadyRead;
    toUpstream.finPending = finAlreadyRead;
    downstream.closeHandler(v -> {
      downstreamClosed = true;
      if (upstream != null) {
        upstream.close();
      }
      checkDone();
    });
    downstream.exceptionHandler(t -> downstream.close());
  }

  /**
   * Closes both sides once no byte has moved either way for {@code millis} (tcp_proxy's
   * {@code idle_timeout}); 0 for never. Call before {@link #connect}; the clock starts there.
   */
  public TcpRelay idleTimeout(long millis) {
    this.idleTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(millis);
    return this;
  }

  /** Whether the relay ended because of its idle timeout. */
  public boolean idleTimedOut() {
    return idleTimedOut;
  }

  /** Starts forwarding to {@code upstream}; the future completes once both sockets are closed. */
  public Future<Void> connect(NetSocketInternal upstream) {
    this.upstream = upstream;
    this.toDownstream = new Direction(upstream, onSent);
    upstream.closeHandler(v -> {
      upstreamClosed = true;
      // the other side first gets what was already queued for it, then is closed
      downstream.close();
      checkDone();
    });
    upstream.exceptionHandler(t -> upstream.close());
    if (downstreamClosed) {
      toUpstream.releaseInitial();
      upstream.close();
    } else {
      lastActivity = System.nanoTime();
      if (idleTimeoutNanos > 0) {
        scheduleIdleCheck(idleTimeoutNanos);
      }
      toUpstream.start(upstream);
      toDownstream.start(downstream);
    }
    return done.future();
  }

  /** One timer per connection, moved forward only when it fires: traffic costs a field write, not a reschedule. */
  private void scheduleIdleCheck(long delayNanos) {
    idleTimer = downstream.channelHandlerContext().executor().schedule(this::checkIdle, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void checkIdle() {
    idleTimer = null;
    if (downstreamClosed && upstreamClosed) {
      return;
    }
    long idle = System.nanoTime() - lastActivity;
    if (idle >= idleTimeoutNanos) {
      idleTimedOut = true;
      downstream.close();
      upstream.close();
    } else {
      scheduleIdleCheck(idleTimeoutNanos - idle);
    }
  }

  private void cancelIdleTimer() {
    if (idleTimer != null) {
      idleTimer.cancel(false);
      idleTimer = null;
    }
  }

  /** Gives up on the connection before any upstream: closes the downstream socket. */
  public void abort() {
    toUpstream.releaseInitial();
    downstream.close();
  }

  public long bytesReceived() {
    return toUpstream.bytes;
  }

  public long bytesSent() {
    return toDownstream == null ? 0 : toDownstream.bytes;
  }

  private void checkDone() {
    if (downstreamClosed && (upstream == null || upstreamClosed)) {
      done.tryComplete();
    }
  }

  private void afterHalfClose() {
    if (toUpstream.finForwarded && toDownstream.finForwarded) {
      downstream.close();
      upstream.close();
    }
  }

  /** One direction of the relay: reads from {@code from}, writes to {@code to} once there is one. */
  private final class Direction {
    private final NetSocketInternal from;
    private final LongConsumer onBytes;
    private NetSocketInternal to;
    private long bytes;
    private Future<Void> lastWrite = Future.succeededFuture();
    private boolean paused = true;
    private boolean finPending;
    private boolean finForwarded;
    private ByteBuf initial;

    Direction(NetSocketInternal from, LongConsumer onBytes) {
      this.from = from;
      this.onBytes = onBytes;
      // the peer's FIN must arrive as an event, not as a close, to be forwarded as a FIN
      from.channelHandlerContext().channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
      // handler first: with a message handler set, pause() stops the connection itself from delivering
      from.messageHandler(this::onMessage);
      from.eventHandler(this::onEvent);
      from.pause();
    }

    void start(NetSocketInternal to) {
      this.to = to;
      to.drainHandler(v -> resume());
      if (initial != null) {
        ByteBuf first = initial;
        initial = null;
        if (first.isReadable()) {
          bytes += first.readableBytes();
          onBytes.accept(first.readableBytes());
          lastWrite = to.writeMessage(first);
        } else {
          first.release();
        }
      }
      resume();
    }

    void releaseInitial() {
      if (initial != null) {
        initial.release();
        initial = null;
      }
    }

    private void onMessage(Object msg) {
      if (!(msg instanceof ByteBuf buf)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      int n = buf.readableBytes();
      bytes += n;
      lastActivity = System.nanoTime();
      onBytes.accept(n);
      lastWrite = to.writeMessage(buf);
      if (!paused && to.writeQueueFull()) {
        paused = true;
        from.pause();
      }
    }

    private void resume() {
      if (paused) {
        paused = false;
        // resuming delivers, synchronously, every message that was read while paused
        from.resume();
        if (!paused && finPending) {
          forwardFin();
        }
      }
    }

    private void onEvent(Object event) {
      if (event instanceof ChannelInputShutdownEvent) {
        // the FIN can overtake bytes still queued while paused: forward it only after them
        if (paused) {
          finPending = true;
        } else {
          forwardFin();
        }
      } else {
        ReferenceCountUtil.release(event);
      }
    }

    private void forwardFin() {
      finPending = false;
      lastWrite.onComplete(ar -> {
        Channel ch = to.channelHandlerContext().channel();
        if (ar.succeeded() && ch instanceof DuplexChannel duplex && ch.isActive()) {
          duplex.shutdownOutput().addListener(f -> {
            finForwarded = true;
            afterHalfClose();
          });
        } else {
          to.close();
        }
      });
    }
  }
}
