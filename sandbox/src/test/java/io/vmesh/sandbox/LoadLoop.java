package io.vmesh.sandbox;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * An application in a pod sending HTTP requests without pause, as the pod's application uid (so capture sends them
 * through the sidecar): odd requests on one kept-alive connection, even ones each on a new connection. Each answer
 * is a line {@code OK <keepalive|new> <status> <body>} or {@code FAIL <keepalive|new> <what>}; a failure is any
 * non-200 status or any error the client sees, including a kept-alive connection closed under a request.
 */
final class LoadLoop implements AutoCloseable {

  private static final String CLIENT = """
      import http.client, sys, time
      host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
      kept = None
      n = 0
      while True:
          n += 1
          fresh = n % 2 == 0
          kind = 'new' if fresh else 'keepalive'
          try:
              if fresh:
                  conn = http.client.HTTPConnection(host, port, timeout=15)
              else:
                  if kept is None:
                      kept = http.client.HTTPConnection(host, port, timeout=15)
                  conn = kept
              conn.request('GET', path)
              r = conn.getresponse()
              body = r.read().decode(errors='replace').strip().replace('\\n', ' ')
              if fresh:
                  conn.close()
              print(('OK ' if r.status == 200 else 'FAIL ') + kind + ' ' + str(r.status) + ' ' + body, flush=True)
          except Exception as e:
              if not fresh and kept is not None:
                  kept.close()
                  kept = None
              print('FAIL ' + kind + ' ' + type(e).__name__ + ': ' + str(e), flush=True)
          time.sleep(0.02)
      """;

  private final Process process;
  private final List<String> lines = new ArrayList<>();

  private LoadLoop(Process process) {
    this.process = process;
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (lines) {
            lines.add(line);
          }
        }
      } catch (java.io.IOException e) {
        // the loop was stopped
      }
    }, "load-loop");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts the loop in {@code netns} against {@code http://host:port/path}. */
  static LoadLoop start(String netns, String host, int port, String path) throws java.io.IOException {
    Process p = new ProcessBuilder("ip", "netns", "exec", netns, "setpriv", "--reuid=" + BoxChecks.APP_UID, "--regid=" + BoxChecks.APP_UID,
        "--clear-groups", "/usr/bin/python3", "-u", "-c", CLIENT, host, String.valueOf(port), path)
        .redirectErrorStream(true).start();
    return new LoadLoop(p);
  }

  /** Where the next line will be: pass it to the other methods to look only at what came after. */
  int mark() {
    synchronized (lines) {
      return lines.size();
    }
  }

  List<String> since(int mark) {
    synchronized (lines) {
      return List.copyOf(lines.subList(Math.min(mark, lines.size()), lines.size()));
    }
  }

  List<String> failures(int mark) {
    return since(mark).stream().filter(l -> !l.startsWith("OK ")).toList();
  }

  /** Answers of both kinds per second since {@code mark}, by kind and status: for the report. */
  Map<String, Integer> counts(int mark) {
    Map<String, Integer> counts = new TreeMap<>();
    for (String l : since(mark)) {
      String[] f = l.split(" ", 4);
      counts.merge(f[0] + " " + (f.length > 1 ? f[1] : ""), 1, Integer::sum);
    }
    return counts;
  }

  /** The second word of an OK body ({@code reviews v1 (pod): ...} → {@code v1}). */
  static String version(String line) {
    String[] f = line.split(" ");
    return f.length > 4 ? f[4] : "";
  }

  /**
   * Waits until the last {@code window} answers (all after {@code mark}) all satisfy {@code answer}: a route change
   * has reached the sidecar once every answer shows it.
   */
  List<String> awaitSteady(int mark, int window, Predicate<String> answer, Duration timeout) throws InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    List<String> last = List.of();
    while (Instant.now().isBefore(deadline)) {
      List<String> after = since(mark);
      last = after.subList(Math.max(0, after.size() - window), after.size());
      if (last.size() == window && last.stream().allMatch(answer)) {
        return last;
      }
      if (!process.isAlive()) {
        throw new AssertionError("the load loop exited: " + since(0));
      }
      Thread.sleep(200);
    }
    throw new AssertionError("the answers never settled within " + timeout.toSeconds() + " s; the last ones:\n" + String.join("\n", last));
  }

  @Override
  public void close() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
