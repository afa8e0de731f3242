package io.vmesh.proxy.http;

import io.vertx.core.Handler;
import io.vertx.core.internal.ContextInternal;

/**
 * A timeout set and cleared once per request that seldom touches the event loop's timer queue: clearing
 * leaves the timer scheduled, and when it fires it runs the action if the deadline has passed, moves itself
 * on to a later deadline, or stops when none is set. Setting and cancelling Vert.x timers per request (an
 * entry in Vert.x's timer map and the loop's priority queue, each way) was several per cent of the HTTP/1.1
 * path's CPU. Only for owners that live on (a connection): a cleared deadline keeps its owner reachable from
 * the timer until the timer fires or {@link #cancel()} is called. Used on the owner's event loop only.
 */
final class Deadline {

  private final ContextInternal context;
  private final Handler<Long> fired = this::fired;
  private long timer = -1;
  /** When the scheduled timer fires (System.nanoTime()). */
  private long timerDue;
  /** When the action is due; meaningful while an action is set. */
  private long due;
  private Runnable action;

  Deadline(ContextInternal context) {
    this.context = context;
  }

  /** {@code action} runs {@code millis} from now unless cleared or set again first. */
  void set(long millis, Runnable action) {
    long now = System.nanoTime();
    this.action = action;
    due = now + millis * 1_000_000;
    if (timer >= 0 && timerDue - due > 0) {
      // scheduled later than this deadline: it would be late
      context.owner().cancelTimer(timer);
      timer = -1;
    }
    if (timer < 0) {
      schedule(now, millis);
    }
  }

  /** No action is due; the timer stays scheduled for the next {@link #set}. */
  void clear() {
    action = null;
  }

  /** No action is due and the timer is gone: the owner is done. */
  void cancel() {
    action = null;
    if (timer >= 0) {
      context.owner().cancelTimer(timer);
      timer = -1;
    }
  }

  private void schedule(long now, long millis) {
    timerDue = now + millis * 1_000_000;
    timer = context.setTimer(millis, fired);
  }

  private void fired(Long id) {
    timer = -1;
    Runnable a = action;
    if (a == null) {
      return;
    }
    long now = System.nanoTime();
    long left = due - now;
    if (left > 0) {
      schedule(now, Math.max(1, (left + 999_999) / 1_000_000));
      return;
    }
    action = null;
    a.run();
  }
}
