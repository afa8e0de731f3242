package io.vmesh.proxy.http;

import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.util.ArrayDeque;

/**
 * The body of a streamed request as a Vert.x {@code ReadStream}, fed by the codec's content messages:
 * pausing it pauses reading from the client (backpressure: TCP for HTTP/1.1, the stream's flow-control
 * window for HTTP/2), and chunks that arrive before the upstream request reads them wait here.
 */
final class RequestBody implements ReadStream<Buffer> {
  private final ArrayDeque<Buffer> pending = new ArrayDeque<>();
  private final RequestReader.Transport transport;
  private final Runnable onLast;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private long demand = Long.MAX_VALUE;
  private boolean ended;
  private boolean endDelivered;
  private long bytes;

  /** @param onLast run when the codec delivers the body's last content */
  RequestBody(RequestReader.Transport transport, Runnable onLast) {
    this.transport = transport;
    this.onLast = onLast;
  }

  boolean ended() {
    return ended;
  }

  long bytes() {
    return bytes;
  }

  /** One content message from the codec (not released here). */
  void push(HttpContent content) {
    if (content.content().isReadable()) {
      Buffer chunk = Buffer.buffer(ByteBufUtil.getBytes(content.content()));
      bytes += chunk.length();
      pending.add(chunk);
    }
    if (content instanceof LastHttpContent) {
      ended = true;
      onLast.run();
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
        transport.resume();
      } else {
        transport.pause();
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
