package io.vmesh.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.HdrHistogram.HistogramLogReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * {@link FixedRateLoad} against real servers on loopback: the rate is held against a server that answers
 * at once, a stall of the whole server shows in the latency of every request scheduled during it (which
 * latency measured from the actual send would mostly miss), and errors are counted by kind.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FixedRateLoadTest {

  private static final long MS = 1_000_000;
  private final CopyOnWriteArrayList<Socket> sockets = new CopyOnWriteArrayList<>();
  private final CopyOnWriteArrayList<ServerSocket> servers = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() throws IOException {
    for (ServerSocket server : servers) {
      server.close();
    }
    for (Socket s : sockets) {
      s.close();
    }
  }

  @Test
  void holdsTheRateAgainstAServerThatAnswersAtOnce() throws Exception {
    AtomicLong served = new AtomicLong();
    int port = serve(n -> {
      served.incrementAndGet();
      return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    });
    FixedRateLoad.Result r = FixedRateLoad.run(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), "x", "/",
        1000, 3_000 * MS, 10, 2_000 * MS, null);

    assertThat(r.due()).isEqualTo(3000);
    assertThat(r.completed()).isEqualTo(3000);
    assertThat(served.get()).as("one request each, no more").isEqualTo(3000);
    assertThat(r.errors()).isZero();
    assertThat(r.achievedRate()).as("req/s").isBetween(950.0, 1050.0);
    // loose: a loaded machine delays the odd request, but the median of an instant server stays far below the stall case's
    assertThat(r.percentileMicros(50)).as("p50 µs").isLessThan(20_000);
    assertThat(r.report()).contains("RESULT rate=").contains("count=3000 errors=0");
  }

  @Test
  void aStallOfTheServerIsChargedToEveryRequestScheduledDuringIt() throws Exception {
    long stallNanos = 200 * MS;
    AtomicLong stallUntil = new AtomicLong();
    int port = serve(n -> {
      // like a GC pause: at the 1000th request every connection stops answering for 200 ms
      if (n == 1000) {
        stallUntil.set(System.nanoTime() + stallNanos);
      }
      for (long left = stallUntil.get() - System.nanoTime(); left > 0; left = stallUntil.get() - System.nanoTime()) {
        sleepNanos(left);
      }
      return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    });
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    FixedRateLoad.Result r;
    try (PrintStream logOut = new PrintStream(log, true, StandardCharsets.UTF_8)) {
      r = FixedRateLoad.run(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), "x", "/",
          1000, 5_000 * MS, 10, 5_000 * MS, logOut);
    }

    assertThat(r.completed()).isEqualTo(5000);
    assertThat(r.errors()).isZero();
    // ~200 requests fall due during the stall, waiting 200 ms down to 0: ~100 of them (2%) wait 100 ms or more
    long slow = r.latency().getCountBetweenValues(50 * MS, Long.MAX_VALUE / 2);
    assertThat(slow).as("requests slower than 50 ms (measured from the send instead, uncorrected, a trial gave 23)").isGreaterThan(60);
    assertThat(r.percentileMicros(99)).as("p99 µs").isGreaterThanOrEqualTo(80_000);
    assertThat(r.percentileMicros(100)).as("max µs").isGreaterThanOrEqualTo(190_000);

    // the HdrHistogram log holds the same requests
    long logged = 0;
    HistogramLogReader reader = new HistogramLogReader(new java.io.ByteArrayInputStream(log.toByteArray()));
    for (var h = reader.nextIntervalHistogram(); h != null; h = reader.nextIntervalHistogram()) {
      logged += ((org.HdrHistogram.Histogram) h).getTotalCount();
    }
    assertThat(logged).isEqualTo(5000);
  }

  @Test
  void countsNon2xxResetsAndTimeoutsAndAccountsForEveryRequest() throws Exception {
    int port = serve(n -> {
      if (n % 100 == 50) {
        return null; // closed without an answer
      }
      if (n % 100 == 77) {
        sleepNanos(3_000 * MS); // past the 1 s timeout
      }
      return n % 10 == 3 ? "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
          : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    });
    FixedRateLoad.Result r = FixedRateLoad.run(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), "x", "/",
        500, 2_000 * MS, 4, 1_000 * MS, null);

    assertThat(r.due()).isEqualTo(1000);
    assertThat(r.resets()).as("requests whose connection closed unanswered").isEqualTo(10);
    // a loaded machine may make another request miss the timeout too
    assertThat(r.timeouts()).as("requests unanswered 1 s after they were sent").isBetween(10L, 20L);
    assertThat(r.completed() + r.resets() + r.timeouts()).as("every request accounted for once").isEqualTo(1000);
    assertThat(r.non2xx()).as("answered 503").isBetween(90L, 100L);
    assertThat(r.errors()).isEqualTo(r.non2xx() + r.resets() + r.timeouts());
    assertThat(r.latency().getTotalCount()).isEqualTo(r.completed());
  }

  @Test
  void interleavesSeveralTargetsInBlocksAndMeasuresEachApart() throws Exception {
    int fast = serve(n -> "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    int slow = serve(n -> {
      sleepNanos(5 * MS);
      return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    });
    InetAddress lo = InetAddress.getLoopbackAddress();
    List<FixedRateLoad.Result> r = FixedRateLoad.run(
        List.of(new FixedRateLoad.Target(new InetSocketAddress(lo, fast), "x", "/"), new FixedRateLoad.Target(new InetSocketAddress(lo, slow), "x", "/")),
        1000, 1_000 * MS, 200 * MS, 10, 2_000 * MS, null);

    assertThat(r).hasSize(2);
    for (FixedRateLoad.Result t : r) {
      assertThat(t.due()).as("a second each, in whole blocks").isEqualTo(1000);
      assertThat(t.completed()).isEqualTo(1000);
      assertThat(t.errors()).isZero();
      assertThat(t.sendDelay().getTotalCount()).isEqualTo(1000);
    }
    // request 0 is the first target's and due at the schedule's start; blocks of 200 ms alternate from there
    long start = Long.MAX_VALUE;
    for (int i = 0; i < r.get(0).times().length; i += 3) {
      start = Math.min(start, r.get(0).times()[i]);
    }
    for (int t = 0; t < 2; t++) {
      long[] times = r.get(t).times();
      for (int i = 0; i < times.length; i += 3) {
        assertThat((times[i] - start) / (200 * MS) % 2).as("block of target %d's request due at +%d ns", t, times[i] - start).isEqualTo(t);
      }
    }
    // each target's latencies are its own: every answer of the slow one took 5 ms, the fast one's median far less
    assertThat(r.get(1).latency().getMinValue()).isGreaterThanOrEqualTo(5 * MS);
    assertThat(r.get(0).percentileMicros(50)).isLessThan(5_000);
    assertThat(r.get(0).report()).contains("late99=");
  }

  @Test
  void theCommandLineRefusesABadUrlOrRate() {
    CommandLine cli = new CommandLine(new FixedRateLoad());
    cli.setErr(new java.io.PrintWriter(new ByteArrayOutputStream()));
    assertThat(cli.execute("-R", "1000", "https://127.0.0.1:1/")).isEqualTo(2);
    assertThat(cli.execute("-R", "0", "http://127.0.0.1:1/")).isEqualTo(2);
    assertThat(cli.execute("-R", "1000", "--block-ms", "0", "http://127.0.0.1:1/", "http://127.0.0.1:2/")).isEqualTo(2);
    assertThat(cli.execute("-R", "1000", "--hdr-log", "/dev/null", "http://127.0.0.1:1/", "http://127.0.0.1:2/"))
        .as("one HdrHistogram log holds one URL's latencies").isEqualTo(2);
  }

  /** A keep-alive HTTP/1.1 server on port 0; {@code answer} gets the request's number (from 0) and returns the response, or null to close. */
  private int serve(LongFunction<String> answer) throws IOException {
    ServerSocket server = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
    servers.add(server);
    AtomicLong requests = new AtomicLong();
    Thread acceptor = new Thread(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          s.setTcpNoDelay(true);
          sockets.add(s);
          Thread t = new Thread(() -> handle(s, answer, requests), "http-conn");
          t.setDaemon(true);
          t.start();
        } catch (IOException e) {
          return;
        }
      }
    }, "http-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    return server.getLocalPort();
  }

  private static void handle(Socket s, LongFunction<String> answer, AtomicLong requests) {
    try (s; InputStream in = new java.io.BufferedInputStream(s.getInputStream()); OutputStream out = s.getOutputStream()) {
      int matched = 0;
      for (int b = in.read(); b >= 0; b = in.read()) {
        // the end of a GET's head: \r\n\r\n
        matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        if (matched == 4) {
          matched = 0;
          String response = answer.apply(requests.getAndIncrement());
          if (response == null) {
            return;
          }
          out.write(response.getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
        }
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  private static void sleepNanos(long nanos) {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
