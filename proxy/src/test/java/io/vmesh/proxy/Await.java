package io.vmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

/** Polls a condition that the proxy makes true in its own time (a drain, a close, a counter). */
public final class Await {

  /** A condition that may throw while it is not yet true. */
  public interface Condition {
    boolean holds() throws Exception;
  }

  private Await() {
  }

  /** Polls every 20 ms; fails naming {@code what} after {@code timeout}. */
  public static void until(Condition condition, String what, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.holds()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
