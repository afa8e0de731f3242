package io.vmesh.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.accesslog.AccessLogLine;
import io.vmesh.sandbox.topology.SystemCommand;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code vmesh-sandbox demo} as the user runs it: the built jar as a process. Its output must carry each step's
 * evidence, checked here apart from the demo's own checks (the access-log lines it prints are parsed again, the
 * counts re-read), and nothing of it may be left afterwards — also when it is interrupted with Ctrl-C (SIGINT).
 */
@ExtendWith(NeedsRootAndNetns.class)
class DemoIT {

  private static final Logger LOG = LoggerFactory.getLogger(DemoIT.class);
  // generous: the demo takes under a minute on an idle 2-core machine, much longer on a loaded one
  private static final Duration RUN_LIMIT = Duration.ofMinutes(8);
  private static final Pattern MADE = Pattern.compile("everything it makes: network namespaces (\\S+)\\*, work folder (\\S+)");
  private static final Pattern COUNTS = Pattern.compile("^ {4}(v\\d+: \\d+(, v\\d+: \\d+)*)$");

  @Test
  void demoShowsEveryStepAndLeavesNothing() throws Exception {
    Run run = Run.start();
    int exit = run.awaitExit(RUN_LIMIT);
    String out = run.stdout();
    LOG.info("demo output:\n{}", out);
    assertThat(exit).as("exit code; stderr:\n%s", run.stderr()).isZero();
    assertThat(out).contains("[1/5]", "[2/5]", "[3/5]", "[4/5]", "[5/5]");

    // 1: the capture is Ready and counts the four pods; each pod has the init container and the sidecar
    assertThat(out).containsPattern("trafficcapture\\.vmesh\\.io/bookinfo\\s+REDIRECT\\s+True\\s+Reconciled\\s+4\\s+4\\s+0");
    assertThat(out.lines().filter(l -> l.matches("\\s+(productpage|reviews-v1|reviews-v2|details)-\\S+\\s+True\\s+10\\.88\\.0\\.\\d+\\s+vmesh-init,vmesh-proxy\\s+\\S+")))
        .as("injected pods").hasSize(4);

    // 2: the access-log lines it prints are one connection seen by both sidecars
    List<AccessLogLine> logged = out.lines().map(l -> l.strip().replaceFirst("^sidecar: ", "")).map(AccessLogLine::parse).flatMap(Optional::stream).toList();
    AccessLogLine outbound = logged.stream().filter(l -> l.listener().equals("0.0.0.0_9080")).findFirst().orElseThrow();
    assertThat(outbound.upstreamCluster()).isEqualTo("outbound|9080||reviews.bookinfo.svc.cluster.local");
    assertThat(outbound.responseCode()).isEqualTo("200");
    AccessLogLine inbound = logged.stream().filter(l -> l.downstreamRemoteAddress().equals(outbound.upstreamLocalAddress())).findFirst()
        .orElseThrow(() -> new AssertionError("no printed inbound line for " + outbound.upstreamLocalAddress()));
    assertThat(inbound.listener()).isEqualTo("virtualInbound");
    assertThat(inbound.upstreamCluster()).startsWith("inbound|9080|");
    assertThat(inbound.upstreamHost()).isEqualTo(outbound.upstreamHost());
    assertThat(out).contains("REDIRECT --to-ports 15001", "REDIRECT --to-ports 15006", "-> listener 0.0.0.0_9080");

    // 3: the counts before the policy, at 80/20 and at 0/100, re-read from the printed counts
    List<Map<String, Integer>> counts = counts(out);
    assertThat(counts).as("three rounds of requests").hasSize(3);
    assertThat(counts.get(0)).as("no policy: both versions").containsKeys("v1", "v2");
    int n = counts.get(1).values().stream().mapToInt(Integer::intValue).sum();
    assertThat(counts.get(1).getOrDefault("v2", 0) / (double) n).as("v2 share at 80/20, %s", counts.get(1)).isBetween(0.05, 0.40);
    assertThat(counts.get(2)).as("all to v2").containsOnlyKeys("v2");

    // 4: the external server passes, is refused (BlackHoleCluster) under REGISTRY_ONLY, and passes again
    List<String> external = out.lines().filter(l -> l.contains("GET http://192.0.2.10/ from productpage: ")).toList();
    assertThat(external).hasSize(3);
    assertThat(external.get(0)).contains(": 200 external server: /");
    assertThat(external.get(1)).contains(": no answer: ");
    assertThat(external.get(2)).contains(": 200 external server: /");
    assertThat(logged.stream().filter(l -> l.downstreamLocalAddress().equals("192.0.2.10:80")).map(AccessLogLine::upstreamCluster))
        .containsExactly("PassthroughCluster", "BlackHoleCluster", "PassthroughCluster");

    // 5: the policy's columns after the changes, then nothing left
    assertThat(out).containsPattern("meshpolicy\\.vmesh\\.io/productpage\\s+ALLOW_ANY\\s+True\\s+Reconciled\\s+1/1");
    assertThat(out).containsPattern("demo passed in \\d+ s");
    Matcher took = Pattern.compile("demo passed in (\\d+) s").matcher(out);
    took.find();
    LOG.info("the demo took {} s", took.group(1));
    assertNothingLeft(out);
  }

  @Test
  void ctrlCWhilePodsStartLeavesNothing() throws Exception {
    Run run = Run.start();
    run.awaitOutput(l -> l.contains("$ kubectl apply --validate=false -k "), RUN_LIMIT);
    Thread.sleep(3000); // pods, sidecars and their namespaces are being made
    SystemCommand.check("kill", "-INT", Long.toString(run.process.pid()));
    int exit = run.awaitExit(Duration.ofMinutes(2));
    LOG.info("interrupted demo, exit {}:\n{}", exit, run.stdout());
    assertThat(exit).as("exit code after SIGINT").isNotZero();
    assertNothingLeft(run.stdout());
  }

  private static void assertNothingLeft(String out) throws IOException {
    Matcher made = MADE.matcher(out);
    assertThat(made.find()).as("the demo says what it makes:\n%s", out).isTrue();
    String prefix = made.group(1);
    String workDir = made.group(2);
    assertThat(SystemCommand.check("ip", "netns", "list").stdout()).as("namespaces left").doesNotContain(prefix);
    if (Files.isDirectory(Path.of("/etc/netns"))) {
      try (Stream<Path> etc = Files.list(Path.of("/etc/netns"))) {
        assertThat(etc.map(p -> p.getFileName().toString())).as("/etc/netns left").noneMatch(f -> f.startsWith(prefix));
      }
    }
    assertThat(Path.of(workDir)).doesNotExist();
    assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().map(c -> c.contains(workDir)).orElse(false))
        .map(p -> p.pid() + " " + p.info().commandLine().orElse(""))).as("processes left").isEmpty();
  }

  /** Every printed line of counts ({@code v1: 100, v2: 100}), in order. */
  private static List<Map<String, Integer>> counts(String out) {
    List<Map<String, Integer>> rounds = new ArrayList<>();
    for (String line : out.lines().toList()) {
      Matcher m = COUNTS.matcher(line);
      if (m.matches()) {
        Map<String, Integer> round = new java.util.LinkedHashMap<>();
        for (String part : m.group(1).split(", ")) {
          String[] kv = part.split(": ");
          round.put(kv[0], Integer.parseInt(kv[1]));
        }
        rounds.add(round);
      }
    }
    return rounds;
  }

  /** The demo jar running as a process, its output collected line by line. */
  private record Run(Process process, List<String> out, Thread reader, CompletableFuture<String> err) {

    static Run start() throws IOException {
      Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
          Jars.sandbox().toString(), "demo")).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      List<String> out = Collections.synchronizedList(new ArrayList<>());
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          for (String l = r.readLine(); l != null; l = r.readLine()) {
            out.add(l);
          }
        } catch (IOException e) {
          out.add("(output unreadable: " + e + ")");
        }
      }, "demo-stdout");
      reader.setDaemon(true);
      reader.start();
      CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> {
        try {
          return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
          return "(stderr unreadable: " + e + ")";
        }
      });
      return new Run(p, out, reader, err);
    }

    int awaitExit(Duration limit) throws Exception {
      if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroy(); // its shutdown hook removes what it made
        process.waitFor(2, TimeUnit.MINUTES);
        throw new AssertionError("the demo did not end within " + limit.toMinutes() + " min:\n" + stdout());
      }
      reader.join(10_000); // the last lines
      return process.exitValue();
    }

    void awaitOutput(java.util.function.Predicate<String> line, Duration limit) throws Exception {
      Instant deadline = Instant.now().plus(limit);
      while (Instant.now().isBefore(deadline)) {
        synchronized (out) {
          if (out.stream().anyMatch(line)) {
            return;
          }
        }
        if (!process.isAlive()) {
          throw new AssertionError("the demo ended (exit " + process.exitValue() + ") before the line came:\n" + stdout() + stderr());
        }
        Thread.sleep(200);
      }
      process.destroy();
      process.waitFor(2, TimeUnit.MINUTES);
      throw new AssertionError("no such line within " + limit.toSeconds() + " s:\n" + stdout());
    }

    String stdout() {
      synchronized (out) {
        return String.join("\n", out) + "\n";
      }
    }

    String stderr() {
      return err.getNow("(still running)");
    }
  }
}
