package io.vmesh.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Lines up a {@link FixedRateLoad} trace with the safepoints of the proxy's JVM log
 * ({@code -Xlog:safepoint:file=F:tn}: both sides use CLOCK_MONOTONIC nanoseconds), to tell how much of the
 * latency tail is the proxy's own stop-the-world pauses rather than its code or the machine's scheduling.
 *
 * <p>{@code java -cp bench/target/vmesh-benchmarks.jar io.vmesh.bench.TailReport --trace T --jvm-log L --threshold-us 1000}
 */
@Command(name = "tail-report", mixinStandardHelpOptions = true,
    description = "Which requests of a fixed-rate run were in flight during a safepoint of the proxy's JVM, and the tail without them.")
public final class TailReport implements Callable<Integer> {

  // [41657414928571ns][safepoint] Safepoint "GenCollectForAllocation", Time since last: ..., Total: 162705 ns
  private static final Pattern SAFEPOINT = Pattern.compile("^\\[(\\d+)ns\\].*Safepoint \"([^\"]+)\".*Total: (\\d+) ns");
  // [41962948098516ns][jit,compilation]    2       3       java.lang.String::hashCode (60 bytes)   (3 = the tier; 4 = C2)
  private static final Pattern COMPILATION = Pattern.compile("^\\[(\\d+)ns\\]\\[jit,compilation\\]\\s+\\d+\\s+[%sbn! ]*?([0-4])\\s+\\S+::");

  @Option(names = "--trace", required = true, paramLabel = "FILE", description = "FixedRateLoad --trace output")
  Path trace;

  @Option(names = "--jvm-log", paramLabel = "FILE",
      description = "a JVM's -Xlog:safepoint,jit+compilation=debug log with the tn decoration (the proxy's, or the generator's own)")
  Path jvmLog;

  @Option(names = "--threshold-us", defaultValue = "1000", paramLabel = "US",
      description = "what counts as a slow request (default ${DEFAULT-VALUE})")
  long thresholdMicros;

  /** One stop-the-world pause of the proxy: [start, end] in ns. */
  public record Pause(long start, long end, String operation) {
  }

  /** A JIT event of the proxy: a method compiled at {@code tier}, or (tier -1) one made not entrant. */
  public record Compilation(long at, int tier) {
  }

  /** What the report says, in ns unless named otherwise. */
  public record Report(int requests, long p50, long p99, long p999, int pauses, double seconds, long pauseTotal,
                       long pauseMax, Map<String, Integer> byOperation, int slow, int slowInPause, int inPause,
                       long p99WithoutPauses, int compiled, int compiledC2, int madeNotEntrant, long sendDelayP99,
                       long afterSendP99) {

    public String text(long thresholdNanos) {
      StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
          "%d requests over %.1f s; latency from the due time, µs: p50 %d  p99 %d  p99.9 %d%n",
          requests, seconds, p50 / 1000, p99 / 1000, p999 / 1000));
      b.append(String.format(Locale.ROOT,
          "p99 of its parts, µs: the generator's send delay (due to sent: its timer, its thread waiting for a CPU, no free connection) %d;"
              + " sent to answered %d%n", sendDelayP99 / 1000, afterSendP99 / 1000));
      b.append(String.format(Locale.ROOT,
          "safepoints of the logged JVM in the run: %d (%.1f/s), %.2f ms in all (%.3f %% of the time), longest %d µs; by operation %s%n",
          pauses, pauses / seconds, pauseTotal / 1e6, 100.0 * pauseTotal / (seconds * 1e9), pauseMax / 1000, byOperation));
      b.append(String.format(Locale.ROOT,
          "requests slower than %d µs: %d, of which in flight during a safepoint: %d; all requests in flight during one: %d (%.2f %%)%n",
          thresholdNanos / 1000, slow, slowInPause, inPause, 100.0 * inPause / Math.max(1, requests)));
      b.append(String.format(Locale.ROOT, "p99 with each request's overlap with safepoints taken out, µs: %d%n", p99WithoutPauses / 1000));
      b.append(String.format(Locale.ROOT, "JIT of the logged JVM in the run: %d methods compiled (%d by C2), %d made not entrant%n",
          compiled, compiledC2, madeNotEntrant));
      b.append(String.format(Locale.ROOT,
          "TAIL p99=%d p99nopause=%d pauses=%d pausems=%.2f pausemax=%d slow=%d slowinpause=%d inpause=%d compiled=%d c2=%d notentrant=%d"
              + " late99=%d sent99=%d%n",
          p99 / 1000, p99WithoutPauses / 1000, pauses, pauseTotal / 1e6, pauseMax / 1000, slow, slowInPause, inPause,
          compiled, compiledC2, madeNotEntrant, sendDelayP99 / 1000, afterSendP99 / 1000));
      return b.toString();
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new TailReport()).execute(args));
  }

  @Override
  public Integer call() throws IOException {
    long[] times = readTrace(trace);
    List<String> log = jvmLog == null ? List.of() : Files.readAllLines(jvmLog);
    long threshold = thresholdMicros * 1000;
    System.out.print(report(times, readPauses(log), readCompilations(log), threshold).text(threshold));
    return 0;
  }

  /** {@code due sent answered} triples, flattened. */
  static long[] readTrace(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file);
    long[] times = new long[lines.size() * 3];
    int n = 0;
    for (String line : lines) {
      String[] f = line.trim().split(" ");
      if (f.length != 3) {
        throw new IllegalArgumentException(file + ": not a FixedRateLoad trace line (due sent answered): " + line);
      }
      for (String v : f) {
        times[n++] = Long.parseLong(v);
      }
    }
    return times;
  }

  /** The safepoints of a JVM log written with the {@code tn} decoration; other lines are skipped. */
  public static List<Pause> readPauses(List<String> lines) {
    List<Pause> pauses = new ArrayList<>();
    for (String line : lines) {
      Matcher m = SAFEPOINT.matcher(line);
      if (m.find()) {
        long end = Long.parseLong(m.group(1));
        pauses.add(new Pause(end - Long.parseLong(m.group(3)), end, m.group(2)));
      }
    }
    pauses.sort((a, b) -> Long.compare(a.start(), b.start()));
    return pauses;
  }

  /** The JIT events of a JVM log written with {@code -Xlog:jit+compilation=debug} and the {@code tn} decoration. */
  public static List<Compilation> readCompilations(List<String> lines) {
    List<Compilation> events = new ArrayList<>();
    for (String line : lines) {
      Matcher m = COMPILATION.matcher(line);
      if (m.find()) {
        events.add(new Compilation(Long.parseLong(m.group(1)), line.endsWith("made not entrant") ? -1 : Integer.parseInt(m.group(2))));
      }
    }
    return events;
  }

  /** The report over the answered requests {@code times} (due, sent, answered triples) and the proxy's pauses and JIT events. */
  public static Report report(long[] times, List<Pause> allPauses, List<Compilation> jit, long thresholdNanos) {
    int n = times.length / 3;
    if (n == 0) {
      throw new IllegalArgumentException("the trace holds no answered request");
    }
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      first = Math.min(first, times[3 * i]);
      last = Math.max(last, times[3 * i + 2]);
    }
    List<Pause> pauses = new ArrayList<>();
    Map<String, Integer> byOperation = new TreeMap<>();
    long pauseTotal = 0;
    long pauseMax = 0;
    for (Pause p : allPauses) {
      if (p.end() >= first && p.start() <= last) {
        pauses.add(p);
        byOperation.merge(p.operation(), 1, Integer::sum);
        pauseTotal += p.end() - p.start();
        pauseMax = Math.max(pauseMax, p.end() - p.start());
      }
    }
    long[] latency = new long[n];
    long[] withoutPauses = new long[n];
    long[] sendDelay = new long[n];
    long[] afterSend = new long[n];
    int slow = 0;
    int slowInPause = 0;
    int inPause = 0;
    for (int i = 0; i < n; i++) {
      long due = times[3 * i];
      long answered = times[3 * i + 2];
      latency[i] = answered - due;
      sendDelay[i] = times[3 * i + 1] - due;
      afterSend[i] = answered - times[3 * i + 1];
      long overlap = 0;
      for (Pause p : pauses) {
        if (p.start() > answered) {
          break;
        }
        overlap += Math.max(0, Math.min(answered, p.end()) - Math.max(due, p.start()));
      }
      withoutPauses[i] = latency[i] - overlap;
      if (overlap > 0) {
        inPause++;
      }
      if (latency[i] > thresholdNanos) {
        slow++;
        if (overlap > 0) {
          slowInPause++;
        }
      }
    }
    int compiled = 0;
    int compiledC2 = 0;
    int madeNotEntrant = 0;
    for (Compilation c : jit) {
      if (c.at() >= first && c.at() <= last) {
        if (c.tier() < 0) {
          madeNotEntrant++;
        } else {
          compiled++;
          compiledC2 += c.tier() == 4 ? 1 : 0;
        }
      }
    }
    Arrays.sort(latency);
    Arrays.sort(withoutPauses);
    Arrays.sort(sendDelay);
    Arrays.sort(afterSend);
    return new Report(n, at(latency, 50), at(latency, 99), at(latency, 99.9), pauses.size(), (last - first) / 1e9, pauseTotal,
        pauseMax, byOperation, slow, slowInPause, inPause, at(withoutPauses, 99), compiled, compiledC2, madeNotEntrant,
        at(sendDelay, 99), at(afterSend, 99));
  }

  private static long at(long[] sorted, double percentile) {
    int i = (int) Math.ceil(percentile / 100 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }
}
