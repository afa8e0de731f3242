package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** A deadline on real Vert.x timers: the latest setting wins, a cleared or cancelled one never runs, none runs early. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeadlineTest {

  private Vertx vertx;
  private ContextInternal context;

  @BeforeAll
  void start() {
    vertx = Vertx.vertx();
    context = (ContextInternal) vertx.getOrCreateContext();
  }

  @AfterAll
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Runs {@code steps} on the context, the deadline's event loop. */
  private void on(Consumer<Deadline> steps, Deadline d) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    context.runOnContext(v -> {
      steps.accept(d);
      done.countDown();
    });
    assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aClearedDeadlineDoesNotRunAndASetOneRunsNoEarlierThanDue() throws Exception {
    Deadline d = new Deadline(context);
    List<String> ran = new CopyOnWriteArrayList<>();
    long t0 = System.nanoTime();
    on(x -> {
      x.set(100, () -> ran.add("first"));
      x.clear();
      // the timer scheduled for the first stays; it must move on to this later deadline, not run it early
      x.set(400, () -> ran.add("second@" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
    }, d);
    Thread.sleep(1500);
    assertThat(ran).singleElement().asString().startsWith("second@");
    assertThat(Long.parseLong(ran.get(0).substring("second@".length()))).isGreaterThanOrEqualTo(400);
  }

  @Test
  void anEarlierDeadlineIsNotLateBehindALaterTimer() throws Exception {
    Deadline d = new Deadline(context);
    CountDownLatch ran = new CountDownLatch(1);
    long t0 = System.nanoTime();
    on(x -> {
      x.set(60_000, () -> { });
      x.set(100, ran::countDown);
    }, d);
    assertThat(ran.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(100L, 9_000L);
  }

  @Test
  void aDeadlineSetAgainAndAgainRunsOnceAfterTheLast() throws Exception {
    Deadline d = new Deadline(context);
    List<Long> ran = new CopyOnWriteArrayList<>();
    AtomicLong lastSet = new AtomicLong();
    for (int i = 0; i < 5; i++) {
      on(x -> {
        lastSet.set(System.nanoTime());
        x.set(200, () -> ran.add(System.nanoTime()));
      }, d);
      Thread.sleep(100);
    }
    Thread.sleep(1000);
    assertThat(ran).hasSize(1);
    assertThat(TimeUnit.NANOSECONDS.toMillis(ran.get(0) - lastSet.get())).as("ms after the last setting").isGreaterThanOrEqualTo(200);
  }

  @Test
  void aCancelledDeadlineNeverRuns() throws Exception {
    Deadline d = new Deadline(context);
    List<String> ran = new CopyOnWriteArrayList<>();
    on(x -> {
      x.set(100, () -> ran.add("cancelled"));
      x.cancel();
    }, d);
    Thread.sleep(500);
    assertThat(ran).isEmpty();
  }
}
