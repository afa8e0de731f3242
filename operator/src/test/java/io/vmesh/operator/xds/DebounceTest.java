package io.vmesh.operator.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Real threads and the real clock, with margins wide enough for a loaded machine. */
class DebounceTest {

  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
  private final AtomicInteger runs = new AtomicInteger();

  @AfterEach
  void stop() {
    executor.shutdownNow();
  }

  @Test
  void aBurstOfEventsRunsTheActionOnce() throws Exception {
    Debounce debounce = new Debounce(executor, Duration.ofSeconds(1), Duration.ofSeconds(10), runs::incrementAndGet, System::nanoTime);
    for (int i = 0; i < 50; i++) {
      debounce.event();
    }
    awaitRuns(1);
    Thread.sleep(1500);
    assertThat(runs).hasValue(1);
  }

  @Test
  void aSteadyStreamStillRunsTheActionByTheMaximumDelay() throws Exception {
    Debounce debounce = new Debounce(executor, Duration.ofMillis(500), Duration.ofSeconds(1), runs::incrementAndGet, System::nanoTime);
    long end = System.nanoTime() + Duration.ofSeconds(4).toNanos();
    while (System.nanoTime() < end) {
      debounce.event();
      Thread.sleep(50);
    }
    // never 500 ms quiet while the stream lasted: only the 1 s maximum can have run it, about every second
    assertThat(runs.get()).as("runs during a 4 s stream of events 50 ms apart").isGreaterThanOrEqualTo(2);
  }

  @Test
  void refusesAQuietLongerThanTheMaximum() {
    assertThatThrownBy(() -> new Debounce(executor, Duration.ofSeconds(2), Duration.ofSeconds(1), () -> { }, System::nanoTime))
        .hasMessageContaining("0 < quiet <= maxDelay");
  }

  private void awaitRuns(int expected) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (runs.get() < expected && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(runs).hasValue(expected);
  }
}
