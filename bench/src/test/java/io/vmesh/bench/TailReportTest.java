package io.vmesh.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link TailReport} on a made-up trace and JVM log in the formats FixedRateLoad and -Xlog write. */
class TailReportTest {

  private static final long MS = 1_000_000;

  @Test
  void chargesToAPauseOnlyTheRequestsInFlightDuringItAndTakesItOutOfTheirLatency() {
    // 1000 requests 1 ms apart from t = 1 s, each answered 300 µs after it was due
    long[] times = new long[3000];
    for (int i = 0; i < 1000; i++) {
      long due = 1000 * MS + i * MS;
      times[3 * i] = due;
      times[3 * i + 1] = due;
      times[3 * i + 2] = due + 300_000;
    }
    // a 5 ms pause from 1 100 ms: the requests due at 1 100..1 104 ms wait until it ends
    for (int i = 100; i < 105; i++) {
      times[3 * i + 2] = 1105 * MS + 300_000;
    }
    List<String> log = List.of(
        "[1105000000ns][safepoint      ] Safepoint \"GenCollectForAllocation\", Time since last: 1 ns, Reaching safepoint: 4890 ns,"
            + " Cleanup: 1 ns, At safepoint: 4995110 ns, Total: 5000000 ns",
        "[1105000100ns][gc             ] GC(3) Pause Young (Allocation Failure) 20M->13M(22M) 4.990ms",
        // before the run: not counted
        "[500000000ns][safepoint      ] Safepoint \"Cleanup\", Time since last: 1 ns, Reaching safepoint: 1 ns, Cleanup: 1 ns,"
            + " At safepoint: 1 ns, Total: 40000 ns",
        "[1200000000ns][jit,compilation]  812   !   4       io.vertx.core.http.impl.Http1xClientConnection::handleResponseBegin (201 bytes)",
        "[1200000001ns][jit,compilation]  700       3       io.netty.buffer.AbstractByteBuf::writeBytes (59 bytes)   made not entrant",
        "[1300000000ns][jit,compilation]  813       3       java.lang.String::hashCode (60 bytes)");

    TailReport.Report r = TailReport.report(times, TailReport.readPauses(log), TailReport.readCompilations(log), 1000_000);

    assertThat(r.requests()).isEqualTo(1000);
    assertThat(r.pauses()).isEqualTo(1);
    assertThat(r.pauseMax()).isEqualTo(5 * MS);
    assertThat(r.byOperation()).containsEntry("GenCollectForAllocation", 1);
    assertThat(r.slow()).as("the five that waited out the pause, 1.3-5.3 ms").isEqualTo(5);
    assertThat(r.slowInPause()).isEqualTo(5);
    assertThat(r.inPause()).as("the five, and none of those answered before it began").isEqualTo(5);
    assertThat(r.p999()).isGreaterThan(4 * MS);
    // 0.5 % of the requests: over the p99; and with the pause taken out every request is back near 300 µs
    assertThat(r.p99()).isEqualTo(300_000);
    assertThat(r.p99WithoutPauses()).isEqualTo(300_000);
    assertThat(r.sendDelayP99()).as("every request went out when due").isZero();
    assertThat(r.afterSendP99()).isEqualTo(300_000);
    assertThat(r.compiled()).isEqualTo(2);
    assertThat(r.compiledC2()).isEqualTo(1);
    assertThat(r.madeNotEntrant()).isEqualTo(1);
    assertThat(r.text(1000_000)).contains("TAIL p99=300 ").contains("pauses=1 ").contains("slowinpause=5 ");
  }

  @Test
  void tellsTheGeneratorsSendDelayApartFromTheTimeAfterTheSend() {
    // 1000 requests 1 ms apart, answered 300 µs after they went out; 2 % of them went out 2 ms late
    long[] times = new long[3000];
    for (int i = 0; i < 1000; i++) {
      long due = 1000 * MS + i * MS;
      long sent = due + (i % 50 == 7 ? 2 * MS : 0);
      times[3 * i] = due;
      times[3 * i + 1] = sent;
      times[3 * i + 2] = sent + 300_000;
    }

    TailReport.Report r = TailReport.report(times, List.of(), List.of(), 1000_000);

    assertThat(r.p99()).isEqualTo(2_300_000);
    assertThat(r.sendDelayP99()).isEqualTo(2 * MS);
    assertThat(r.afterSendP99()).isEqualTo(300_000);
    assertThat(r.text(1000_000)).contains("late99=2000 sent99=300");
  }

  @Test
  void aPauseThatHitsMoreThanOnePercentMovesTheP99AndTakingItOutMovesItBack() {
    long[] times = new long[3000];
    for (int i = 0; i < 1000; i++) {
      long due = i * MS;
      times[3 * i] = due;
      times[3 * i + 1] = due;
      times[3 * i + 2] = due + 200_000;
    }
    // a 20 ms pause from 500 ms: 20 requests (2 %) wait for its end
    for (int i = 500; i < 520; i++) {
      times[3 * i + 2] = 520 * MS + 200_000;
    }
    List<TailReport.Pause> pauses = List.of(new TailReport.Pause(500 * MS, 520 * MS, "GenCollectForAllocation"));

    TailReport.Report r = TailReport.report(times, pauses, List.of(), 1000_000);

    assertThat(r.p99()).isGreaterThan(5 * MS);
    assertThat(r.p99WithoutPauses()).isEqualTo(200_000);
    assertThat(r.inPause()).isEqualTo(20);
  }

  @Test
  void refusesAnEmptyTrace() {
    assertThatThrownBy(() -> TailReport.report(new long[0], List.of(), List.of(), 1))
        .hasMessageContaining("no answered request");
  }
}
