package io.vmesh.sandbox.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmesh.sandbox.Artifacts;
import io.vmesh.sandbox.cluster.MeshInABox;
import io.vmesh.sandbox.topology.SandboxException;
import io.vmesh.sandbox.topology.SystemCommand;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmesh-sandbox demo}: mesh-in-a-box for real (the API server, the operator jar, the node agent), bookinfo-lite
 * applied with kubectl and injected, then narrated: a request's path read from the sidecars' access logs, a
 * MeshPolicy shifting reviews between its versions (counted), REGISTRY_ONLY against a server outside the mesh, and the
 * status columns. Exits 1 naming the step that did not do what it should; removes everything also then and on Ctrl-C.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run mesh-in-a-box with bookinfo-lite and narrate what the mesh does (needs root: it makes network namespaces).",
        "Everything it creates is removed when it ends."})
public final class DemoCommand implements Callable<Integer> {

  static final String NAMESPACE = "bookinfo";
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DemoCommand.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  // generous: pods are JVMs and Python programs starting on a machine that may be busy
  private static final Duration WAIT = Duration.ofSeconds(300);

  @Option(names = "--requests", defaultValue = "200", paramLabel = "N",
      description = "Requests sent to reviews for each traffic split (default: ${DEFAULT-VALUE}).")
  int requests;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  private PrintWriter out;
  private Path repo;
  private MeshInABox box;
  private Pods pods;
  private AccessLog accessLog;
  private int step;
  private String stepTitle = "start";
  private Instant started;
  /** When each step began, then when the teardown began and ended: where the demo's time goes. */
  private final Map<String, Instant> marks = new LinkedHashMap<>();

  /** A step that did not do what it should: the message says what was expected and what happened. */
  static final class StepFailed extends RuntimeException {
    StepFailed(String message) {
      super(message);
    }
  }

  @Override
  public Integer call() {
    out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (requests < 20) {
      err.println("vmesh demo: --requests must be at least 20 (fewer cannot tell the weights apart), not " + requests);
      return 2;
    }
    if (!"0".equals(SystemCommand.check("id", "-u").stdout().strip())) {
      err.println("vmesh demo: needs root, since it creates network namespaces and iptables rules; run it as root (sudo ./vmesh demo)");
      return 1;
    }
    MeshInABox.Settings settings = MeshInABox.Settings.beside(Artifacts.sandboxJar());
    repo = settings.repo();
    started = Instant.now();
    String failure = null;
    String prefix = null;
    Path workDir = null;
    say("== vmesh demo: mesh-in-a-box ==");
    say("An API server, the operator and a kubelet on this machine, pods as network namespaces; iptables, sockets and");
    say("proxies are real. Commands are shown as you would type them against it (`./vmesh sandbox up` keeps one running).");
    try {
      accessLog = AccessLog.parserFrom(settings.proxyJar());
      step(1, "Start mesh-in-a-box, install the mesh, deploy bookinfo-lite");
      box = MeshInABox.start(settings);
      marks.put("box up", Instant.now());
      prefix = box.topology().netnsPrefix();
      workDir = box.topology().workDir();
      deploy(started);
      step(2, "One request's path, read from the sidecars' access logs");
      new RequestPath(this).show();
      step(3, "A MeshPolicy shifts reviews between v1 and v2");
      new PolicySteps(this).trafficSplit();
      step(4, "Outbound policy: ALLOW_ANY, REGISTRY_ONLY, ALLOW_ANY again");
      new PolicySteps(this).outboundPolicy();
      step(5, "Status after the changes, and teardown");
      show("get", "tc,mp", "-A");
    } catch (StepFailed | SandboxException e) {
      failure = e.getMessage();
    } catch (RuntimeException e) { // a bug of the demo itself: say so with the whole exception, still clean up
      failure = e.toString();
      LOG.error("the demo failed unexpectedly", e);
    } finally {
      if (box != null) {
        say("  tearing down: pods (preStop, SIGTERM), node agent, operator, API server, network namespaces %s*", prefix);
        marks.put("teardown", Instant.now());
        box.close();
        marks.put("end", Instant.now());
      }
    }
    if (prefix != null) {
      List<String> left = leftovers(prefix, workDir);
      if (left.isEmpty()) {
        say("  nothing left: no network namespace, /etc/netns entry, process or file of %s", workDir);
      } else if (failure == null) {
        failure = "left behind: " + String.join("; ", left);
      } else {
        failure += "; also left behind: " + String.join("; ", left);
      }
    }
    long seconds = Duration.between(started, Instant.now()).toSeconds();
    if (!marks.isEmpty()) {
      say("  time: %s", timeline());
    }
    if (failure != null) {
      say("");
      say("demo FAILED at step %d (%s): %s", step, stepTitle, failure);
      if (box != null) {
        err.println("control plane, last lines:\n" + tail(box.logs(), 60));
      }
      err.flush();
      return 1;
    }
    say("");
    say("demo passed in %d s: injected pods, a request's path through both sidecars, weighted routing, REGISTRY_ONLY and ALLOW_ANY.", seconds);
    return 0;
  }

  private void deploy(Instant started) throws StepFailed {
    say("  API server, operator (vmesh-operator.jar run) and node agent up in %d s in network namespace %s",
        Duration.between(started, Instant.now()).toSeconds(), box.topology().nodeNetns());
    say("  everything it makes: network namespaces %s*, work folder %s", box.topology().netnsPrefix(), box.topology().workDir());
    show("get", "crd");
    Path bookinfo = repo.resolve("samples/bookinfo-lite");
    show("apply", "--validate=false", "-f", bookinfo.resolve("00-namespace.yaml").toString(), "-f",
        bookinfo.resolve("10-traffic-capture.yaml").toString());
    // the webhook decides from its cache: it must have seen the TrafficCapture before the first pod comes
    awaitKubectl("TrafficCapture bookinfo Ready=True", "True"::equals, "get", "tc", NAMESPACE, "-n", NAMESPACE, "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
    show("apply", "--validate=false", "-k", bookinfo.toString());
    pods = Pods.awaitReady(this, NAMESPACE, 4, WAIT);
    pods.awaitEndpoints(Map.of("productpage", 1, "reviews", 2, "details", 1), WAIT);
    marks.put("pods Ready", Instant.now());
    String tc = show("get", "tc,mp", "-A");
    String row = tc.lines().filter(l -> l.contains("trafficcapture.vmesh.io/" + NAMESPACE + " ")).findFirst()
        .orElseThrow(() -> new StepFailed("kubectl get tc,mp -A shows no TrafficCapture " + NAMESPACE));
    if (!List.of(row.split("\\s+")).contains("True")) {
      throw new StepFailed("TrafficCapture " + NAMESPACE + " is not Ready: " + row);
    }
    show("get", "pods", "-n", NAMESPACE, "-o",
        "custom-columns=POD:.metadata.name,READY:.status.conditions[?(@.type==\"Ready\")].status,IP:.status.podIP,"
            + "INIT CONTAINERS:.spec.initContainers[*].name,CONTAINERS:.spec.containers[*].name");
    pods.checkInjected();
  }

  // ---- what the steps share

  MeshInABox box() {
    return box;
  }

  Pods pods() {
    return pods;
  }

  AccessLog accessLog() {
    return accessLog;
  }

  Path repo() {
    return repo;
  }

  int requests() {
    return requests;
  }

  /** {@code start -> box up 9.1 s, box up -> pods Ready 20.3 s, ...}: the time between consecutive marks. */
  private String timeline() {
    List<String> parts = new ArrayList<>();
    String previous = "start";
    Instant at = started;
    for (Map.Entry<String, Instant> m : marks.entrySet()) {
      parts.add(previous + " -> " + m.getKey() + " " + Duration.between(at, m.getValue()).toMillis() / 100 / 10.0 + " s");
      previous = m.getKey();
      at = m.getValue();
    }
    return String.join(", ", parts);
  }

  void step(int n, String title) {
    if (n > 1) {
      marks.put("[" + n + "]", Instant.now());
    }
    step = n;
    stepTitle = title;
    say("");
    say("[%d/5] %s  (%d s)", n, title, Duration.between(started, Instant.now()).toSeconds());
  }

  void say(String format, Object... args) {
    out.println(args.length == 0 ? format : String.format(format, args));
    out.flush();
  }

  /** Runs kubectl, prints it as the user would type it and what it printed; a failure fails the step. */
  String show(String... args) {
    say("  $ kubectl %s", String.join(" ", shown(args)));
    SystemCommand.Result r = box.kubectl(args);
    String text = r.stdout().isBlank() ? r.stderr() : r.stdout();
    text.lines().forEach(l -> say("    %s", l));
    if (!r.ok()) {
      throw new StepFailed("kubectl " + String.join(" ", shown(args)) + " failed (exit " + r.exitCode() + "): " + r.stderr().strip());
    }
    return r.stdout();
  }

  /** The kubectl arguments with this checkout's paths relative, as typed from its root. */
  private List<String> shown(String... args) {
    List<String> out = new ArrayList<>();
    for (String a : args) {
      String s = a.startsWith(repo.toString() + "/") ? repo.relativize(Path.of(a)).toString() : a;
      out.add(s.contains(" ") || s.contains("[") ? "'" + s + "'" : s);
    }
    return out;
  }

  JsonNode kubectlJson(String... args) {
    SystemCommand.Result r = box.kubectl(args);
    if (!r.ok()) {
      throw new StepFailed("kubectl " + String.join(" ", args) + " failed: " + r.stderr().strip());
    }
    try {
      return JSON.readTree(r.stdout());
    } catch (java.io.IOException e) {
      throw new StepFailed("kubectl " + String.join(" ", args) + " printed no JSON: " + e.getMessage());
    }
  }

  /** Polls kubectl until its output matches; {@code what} names the expectation in the failure. */
  String awaitKubectl(String what, Predicate<String> condition, String... args) {
    String[] last = {""};
    return await(what, () -> {
      SystemCommand.Result r = box.kubectl(args);
      last[0] = (r.stdout() + r.stderr()).strip();
      return r.ok() && condition.test(r.stdout().strip()) ? r.stdout().strip() : null;
    }, () -> "kubectl " + String.join(" ", args) + " last printed: " + last[0]);
  }

  /** Polls {@code probe} until it returns non-null, or fails the step after {@link #WAIT}. */
  static <T> T await(String what, Supplier<T> probe, Supplier<String> lastSeen) {
    Instant deadline = Instant.now().plus(WAIT);
    while (true) {
      T value = probe.get();
      if (value != null) {
        return value;
      }
      if (Instant.now().isAfter(deadline)) {
        throw new StepFailed("expected " + what + " within " + WAIT.toSeconds() + " s; " + lastSeen.get());
      }
      try {
        Thread.sleep(500); // each poll is a kubectl or python process: don't crowd the pods starting
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StepFailed("interrupted while waiting for " + what);
      }
    }
  }

  static Duration waitLimit() {
    return WAIT;
  }

  /** What of the box is still there after close: the checks the demo's promise rests on. */
  private static List<String> leftovers(String prefix, Path workDir) {
    List<String> left = new ArrayList<>();
    SystemCommand.check("ip", "netns", "list").stdout().lines().map(l -> l.split(" ")[0])
        .filter(n -> n.startsWith(prefix)).forEach(n -> left.add("network namespace " + n));
    try (Stream<Path> etc = Files.exists(Path.of("/etc/netns")) ? Files.list(Path.of("/etc/netns")) : Stream.empty()) {
      etc.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix)).forEach(n -> left.add("/etc/netns/" + n));
    } catch (java.io.IOException e) {
      left.add("/etc/netns unreadable: " + e.getMessage());
    }
    if (workDir != null && Files.exists(workDir)) {
      left.add("work folder " + workDir);
    }
    String dir = workDir == null ? null : workDir.toString();
    ProcessHandle.allProcesses().filter(p -> dir != null && p.info().commandLine().map(c -> c.contains(dir)).orElse(false))
        .forEach(p -> left.add("process " + p.pid() + " " + p.info().commandLine().orElse("")));
    return left;
  }

  private static String tail(String text, int lines) {
    List<String> all = text.lines().toList();
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  /** Expected shares that add up to 1, from weights (zeros dropped). */
  static Map<String, Double> shares(Map<String, Integer> weights) {
    int sum = weights.values().stream().mapToInt(Integer::intValue).sum();
    Map<String, Double> out = new LinkedHashMap<>();
    weights.forEach((k, w) -> {
      if (w > 0) {
        out.put(k, w / (double) sum);
      }
    });
    return out;
  }
}
