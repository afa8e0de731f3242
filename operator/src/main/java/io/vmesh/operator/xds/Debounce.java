package io.vmesh.operator.xds;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * istiod's push debounce: an action runs once events have been quiet for {@code quiet}, or at the latest
 * {@code maxDelay} after the first event of the batch, so a steady stream of events still gets pushed. The action
 * runs on the executor (one thread: batches never overlap); events during a run start the next batch.
 */
final class Debounce {

  private final ScheduledExecutorService executor;
  private final long quietNanos;
  private final long maxDelayNanos;
  private final Runnable action;
  private final LongSupplier nanoTime;
  private long firstEvent = -1;
  private long lastEvent;
  private boolean scheduled;

  Debounce(ScheduledExecutorService executor, Duration quiet, Duration maxDelay, Runnable action, LongSupplier nanoTime) {
    if (quiet.isNegative() || quiet.isZero() || maxDelay.compareTo(quiet) < 0) {
      throw new IllegalArgumentException("debounce needs 0 < quiet <= maxDelay, got quiet " + quiet + ", maxDelay " + maxDelay);
    }
    this.executor = executor;
    this.quietNanos = quiet.toNanos();
    this.maxDelayNanos = maxDelay.toNanos();
    this.action = action;
    this.nanoTime = nanoTime;
  }

  synchronized void event() {
    if (executor.isShutdown()) {
      return;
    }
    long now = nanoTime.getAsLong();
    if (firstEvent < 0) {
      firstEvent = now;
    }
    lastEvent = now;
    if (!scheduled) {
      scheduled = true;
      executor.schedule(this::due, quietNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void due() {
    synchronized (this) {
      long now = nanoTime.getAsLong();
      long runAt = Math.min(lastEvent + quietNanos, firstEvent + maxDelayNanos);
      if (now - runAt < 0) {
        executor.schedule(this::due, runAt - now, TimeUnit.NANOSECONDS);
        return;
      }
      firstEvent = -1;
      scheduled = false;
    }
    action.run();
  }
}
