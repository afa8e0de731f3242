package io.vmesh.sandbox.demo;

import io.vmesh.sandbox.Artifacts;
import io.vmesh.sandbox.topology.Pod;
import io.vmesh.sandbox.topology.PodProcess;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SandboxException;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmesh-sandbox demo}: two pods, real iptables capture in one of them, the proxy as uid 1337,
 * and one outbound connection hijacked and passed through to its original destination, narrated.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Run mesh-in-a-box and narrate what the mesh does (needs root: it makes network namespaces).",
        "Everything it creates is removed when it ends."})
public final class DemoCommand implements Callable<Integer> {

  static final int APP_UID = 1000;
  static final int PROXY_UID = 1337;
  static final int ECHO_PORT = 7000;
  private static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);

  @Option(names = "--proxy-jar", paramLabel = "JAR", description = "vmesh-proxy.jar (default: proxy/target/ of this checkout).")
  Path proxyJar;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  private PrintWriter out;

  @Override
  public Integer call() {
    out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (!"0".equals(SystemCommand.check("id", "-u").stdout().strip())) {
      err.println("vmesh demo: needs root, since it creates network namespaces and iptables rules; run it as root (sudo ./vmesh demo)");
      return 1;
    }
    Path sandboxJar = Artifacts.sandboxJar();
    Path proxy = proxyJar != null ? proxyJar : Artifacts.proxyJarBeside(sandboxJar);
    if (!Files.isRegularFile(proxy)) {
      err.println("vmesh demo: no proxy jar at " + proxy + "; build it with ./mvnw -B package -DskipTests, or pass --proxy-jar");
      return 1;
    }
    try {
      boolean ok = run(sandboxJar, proxy);
      out.println(ok ? "demo passed: the connection was hijacked, its original destination recovered, and it reached the server."
          : "demo FAILED: see the lines above.");
      out.flush();
      return ok ? 0 : 1;
    } catch (SandboxException e) {
      err.println("vmesh demo: " + e.getMessage());
      return 1;
    }
  }

  private boolean run(Path sandboxJar, Path proxyJar) {
    try (Topology topology = Topology.create()) {
      say("== vmesh mesh-in-a-box ==");
      say("A closed network of network namespaces; nothing is attached to this machine's own network.");
      Pod client = topology.addPod("client");
      Pod server = topology.addPod("server");
      say("  node     netns %s, bridge br0 %s/24", topology.nodeNetns(), Topology.GATEWAY);
      say("  pod %-7s%s  netns %s", client.name(), client.ip(), client.netns());
      say("  pod %-7s%s  netns %s", server.name(), server.ip(), server.netns());
      Path proxy = topology.stage(proxyJar);
      Path sandbox = topology.stage(sandboxJar);

      step(1, "pod server: an echo server, outside the mesh");
      PodProcess echo = server.start("echo-server", RunAs.user(APP_UID),
          Artifacts.javaJar(sandbox, "echo-server", "--port", Integer.toString(ECHO_PORT)));
      say("  %s", echo.awaitLine(l -> l.contains("listening"), STEP_TIMEOUT));

      step(2, "pod client: the init container (root) runs `vmesh-proxy capture`");
      SystemCommand.Result capture = client.run(RunAs.ROOT, STEP_TIMEOUT, Artifacts.javaJar(proxy, "capture")).orThrow();
      say("  %s", capture.stdout().strip());
      String rules = client.run(RunAs.ROOT, STEP_TIMEOUT, List.of("iptables-save", "-t", "nat")).orThrow().stdout();
      Arrays.stream(rules.split("\n")).filter(l -> l.contains("VMESH")).forEach(l -> say("    %s", l));

      step(3, "pod client: the sidecar `vmesh-proxy run`, as uid " + PROXY_UID);
      PodProcess sidecar = client.start("vmesh-proxy", RunAs.user(PROXY_UID), Artifacts.javaJar(proxy, "run"));
      say("  %s", sidecar.awaitLine(l -> l.contains("vmesh-proxy ready"), STEP_TIMEOUT).replaceFirst("^.*?vmesh-proxy ready", "vmesh-proxy ready"));

      String target = server.ip() + ":" + ECHO_PORT;
      step(4, "pod client: the app (uid " + APP_UID + ") dials " + target + ", knowing nothing of the proxy");
      SystemCommand.Result app = client.run(RunAs.user(APP_UID), STEP_TIMEOUT,
          Artifacts.javaJar(sandbox, "echo-client", target, "--message", "hello through the mesh"));
      say("  app: %s", app.stdout().strip().replace("\n", " | "));
      // the default access log (Istio's format) has the original destination as %DOWNSTREAM_LOCAL_ADDRESS%, unquoted
      String logLine = sidecar.awaitLine(l -> l.contains(" " + target + " ") && l.contains(" PassthroughCluster "), STEP_TIMEOUT);
      say("  proxy access log: %s", logLine);

      step(5, "pod client: the proxy's own uid " + PROXY_UID + " dials the same address: never captured (no loop)");
      SystemCommand.Result own = client.run(RunAs.user(PROXY_UID), STEP_TIMEOUT,
          Artifacts.javaJar(sandbox, "echo-client", target, "--message", "from uid 1337"));
      say("  uid %d: %s", PROXY_UID, own.stdout().strip().replace("\n", " | "));
      String stats = client.run(RunAs.ROOT, STEP_TIMEOUT,
          Artifacts.javaJar(sandbox, "http-get", "http://127.0.0.1:15000/stats")).orThrow().stdout();
      say("  proxy /stats:");
      Arrays.stream(stats.split("\n")).forEach(l -> say("    %s", l));

      boolean ok = app.ok() && own.ok()
          && stats.contains("listener.virtualOutbound.downstream_cx_total: 1\n")
          && stats.contains("cluster.PassthroughCluster.upstream_cx_total: 1\n");
      say("cleaning up: stopping processes, deleting namespaces %s", topology.netnsPrefix() + "*");
      return ok;
    }
  }

  private void step(int n, String what) {
    say("");
    say("[%d] %s", n, what);
  }

  private void say(String format, Object... args) {
    out.println(args.length == 0 ? format : String.format(format, args));
    out.flush();
  }
}
