package io.vmesh.proxy.accesslog;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where access log lines go (standard output or a file): appended to a buffer and written out when it
 * passes {@link #FLUSH_BYTES}, every {@link #FLUSH_INTERVAL_MILLIS} by a timer, and at exit
 * ({@link #flushAll()}) — as Envoy's {@code access_log_flush_interval}. One {@code write(2)} per line cost
 * the event loops 14 % of their time under load (bench/RESULTS.md). Several event loops append at once.
 * A write that fails drops what was buffered with one warning per run of failures; serving goes on.
 */
public final class AccessLogSink implements Consumer<String> {

  /** Written out once this much is buffered, without waiting for the timer. */
  public static final int FLUSH_BYTES = 64 * 1024;
  /** Short enough for someone tailing the log (or a test reading it) to see lines promptly. */
  public static final long FLUSH_INTERVAL_MILLIS = 1000;

  private static final Logger LOG = LoggerFactory.getLogger(AccessLogSink.class);
  private static final Set<AccessLogSink> ALL = ConcurrentHashMap.newKeySet();
  private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "vmesh-access-log-flush");
    t.setDaemon(true);
    return t;
  });
  private static final AccessLogSink STDOUT = new AccessLogSink("standard output", (b, n) -> {
    // looked up at each write, so a redirected System.out (tests) gets the lines
    System.out.write(b, 0, n);
    System.out.flush();
  });

  static {
    TIMER.scheduleWithFixedDelay(AccessLogSink::flushAll, FLUSH_INTERVAL_MILLIS, FLUSH_INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** Writes the first {@code length} bytes of a chunk of whole lines; the array is reused once this returns. */
  interface Target {
    void write(byte[] bytes, int length) throws IOException;
  }

  private final String name;
  private final Target target;
  /** Taken for the write itself, so chunks go out in order; appending only waits on {@code this}. */
  private final Object writing = new Object();
  private byte[] buffer = new byte[8192];
  private int length;
  /** The buffer last written out, appended to next: a fresh one per flush cost ~0.4 KB of garbage per line. */
  private byte[] spare;
  private boolean failed;

  AccessLogSink(String name, Target target) {
    this.name = name;
    this.target = target;
    ALL.add(this);
  }

  /** Standard output: Envoy's {@code StdoutAccessLog} and the default access log. */
  public static AccessLogSink stdout() {
    return STDOUT;
  }

  /** Writes out what every sink holds: the timer's job, and what stopping the proxy calls so no line is lost. */
  public static void flushAll() {
    for (AccessLogSink sink : ALL) {
      sink.flush();
    }
  }

  @Override
  public void accept(String line) {
    // the newline added in the buffer: concatenating it first would copy the line once more
    byte[] bytes = line.getBytes(StandardCharsets.UTF_8);
    int n = bytes.length + 1;
    boolean full;
    synchronized (this) {
      if (length + n > buffer.length) {
        buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + n));
      }
      System.arraycopy(bytes, 0, buffer, length, bytes.length);
      buffer[length + bytes.length] = '\n';
      length += n;
      full = length >= FLUSH_BYTES;
    }
    if (full) {
      flush();
    }
  }

  /** Writes out the buffered lines, if any. */
  public void flush() {
    synchronized (writing) {
      byte[] chunk;
      int n;
      synchronized (this) {
        if (length == 0) {
          return;
        }
        chunk = buffer;
        n = length;
        buffer = spare != null ? spare : new byte[Math.max(8192, Math.min(chunk.length, 2 * FLUSH_BYTES))];
        spare = null;
        length = 0;
      }
      try {
        target.write(chunk, n);
        failed = false;
        if (chunk.length <= 2 * FLUSH_BYTES) {
          synchronized (this) {
            spare = chunk;
          }
        }
      } catch (IOException | RuntimeException e) {
        if (!failed) {
          LOG.warn("access log {}: cannot write: {}", name, e.toString());
          failed = true;
        }
      }
    }
  }
}
