package io.vmesh.proxy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.vertx.core.Vertx;
import io.vmesh.proxy.config.AdsConfig;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.ConfigException;
import io.vmesh.proxy.config.DefaultBootstrap;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import io.vmesh.proxy.stats.ProxyStats;
import io.vmesh.proxy.xds.SidecarBootstrap;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** {@code vmesh-proxy run}: the sidecar process. */
@Command(name = "run",
    mixinStandardHelpOptions = true,
    description = {"Run the proxy from an Envoy bootstrap file (YAML or JSON), or from the built-in one:",
        "virtualOutbound on 0.0.0.0:15001 and virtualInbound on 0.0.0.0:15006, both passthrough, admin on 127.0.0.1:15000.",
        "Without --bootstrap and with env VMESH_XDS_ADDRESS (host:port; set by the injector with POD_NAME, POD_NAMESPACE,",
        "INSTANCE_IP), the built-in one plus ADS to that address: the operator pushes listeners, clusters, routes, endpoints.",
        "Exit code 2: the bootstrap was refused (the message names the file and the field).",
        "Runs until SIGTERM or SIGINT (drain, then exit 0) or POST /quitquitquit (exit 0 at once)."})
public final class RunCommand implements Callable<Integer> {

  static final int EXIT_BAD_CONFIG = 2;

  @Option(names = "--bootstrap", paramLabel = "FILE", description = "Envoy Bootstrap, YAML or JSON (default: the built-in one).")
  Path bootstrap;

  @Option(names = "--health-address", paramLabel = "IP", description = "Address of /healthz/ready (default: ${DEFAULT-VALUE}).")
  String healthAddress = "0.0.0.0";

  @Option(names = "--health-port", paramLabel = "PORT", description = "Port of /healthz/ready, 0 for none (default: ${DEFAULT-VALUE}).")
  int healthPort = 15021;

  @Option(names = "--concurrency", paramLabel = "N", description = "Event loops, each with its own listener instance (default: ${DEFAULT-VALUE}).")
  int concurrency = 2;

  @Option(names = "--prometheus-address", paramLabel = "IP", description = "Address of /stats/prometheus (default: ${DEFAULT-VALUE}).")
  String prometheusAddress = "0.0.0.0";

  @Option(names = "--prometheus-port", paramLabel = "PORT", description = "Port of /stats/prometheus, 0 for none (default: ${DEFAULT-VALUE}).")
  int prometheusPort = 15090;

  @Option(names = {"--drain-seconds", "--drain-time-s"}, paramLabel = "S",
      description = "After SIGTERM, how long connections in flight may go on before they are closed (default: ${DEFAULT-VALUE}).")
  int drainSeconds = 5;

  @Option(names = "--xds-token-file", paramLabel = "FILE",
      description = "Token sent to the xDS server as 'authorization: Bearer', read at each connect (default: ${DEFAULT-VALUE}).")
  Path xdsTokenFile = AdsConfig.DEFAULT_TOKEN_FILE;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  // the stats registry, started by prepare() before the command line is parsed; null when main did not call it
  private static volatile CompletableFuture<ProxyStats> prepared;

  /**
   * Starts making what {@code run} needs whatever its options say, on a thread of its own while picocli builds
   * and parses the command line (about 0.2 s at every start): the stats registry (Micrometer and Prometheus)
   * and, by the first logger, logback's set-up. Called by {@code main} when the command is {@code run}.
   */
  static void prepare() {
    CompletableFuture<ProxyStats> stats = new CompletableFuture<>();
    prepared = stats;
    Thread t = new Thread(() -> {
      try {
        LoggerFactory.getILoggerFactory();
        stats.complete(new ProxyStats());
      } catch (Throwable e) {
        stats.completeExceptionally(e);
      }
    }, "vmesh-prepare");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public Integer call() throws Exception {
    for (int port : new int[] {healthPort, prometheusPort}) {
      if (port < 0 || port > 65535) {
        throw new CommandLine.ParameterException(spec.commandLine(), "ports are 0 (none) to 65535, got " + port);
      }
    }
    if (drainSeconds < 0) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--drain-seconds must not be negative, got " + drainSeconds);
    }
    ProxyServer.Settings settings = new ProxyServer.Settings(concurrency, healthAddress, healthPort, prometheusAddress,
        prometheusPort, drainSeconds * 1000L, xdsTokenFile);
    // Vert.x with Netty's epoll transport (~1 200 classes to load and initialise) is made on a second thread while
    // this one reads the bootstrap, the stats registry on a third since prepare(): with two CPUs, start to ready is
    // shorter by that much
    CompletableFuture<ProxyStats> stats = prepared;
    prepared = null; // one run per prepare()
    CompletableFuture<Started> early = new CompletableFuture<>();
    Thread maker = new Thread(() -> {
      try {
        Vertx vertx = ProxyServer.newVertx(concurrency);
        try {
          early.complete(new Started(vertx, stats != null ? stats.join() : new ProxyStats()));
        } catch (Throwable t) {
          vertx.close();
          throw t;
        }
      } catch (Throwable t) {
        early.completeExceptionally(t);
      }
    }, "vmesh-start");
    maker.start();
    RuntimeConfig config;
    String xdsAddress = System.getenv(SidecarBootstrap.XDS_ADDRESS);
    String source = bootstrap != null ? bootstrap.toString() : "built-in bootstrap " + DefaultBootstrap.YAML
        + (xdsAddress == null || xdsAddress.isBlank() ? "" : " with ADS to " + SidecarBootstrap.XDS_ADDRESS + "=" + xdsAddress);
    try {
      if (bootstrap != null) {
        config = RuntimeConfigBuilder.build(BootstrapLoader.load(bootstrap), Clock.systemUTC());
      } else {
        Bootstrap builtIn = SidecarBootstrap.fromEnvironment(DefaultBootstrap.bootstrap(), System.getenv())
            .orElseGet(DefaultBootstrap::bootstrap);
        config = RuntimeConfigBuilder.buildBuiltIn(builtIn, Clock.systemUTC());
      }
    } catch (ConfigException e) {
      PrintWriter err = spec.commandLine().getErr();
      err.println("vmesh-proxy: " + source + " refused; nothing started:");
      for (String problem : e.problems()) {
        err.println("  " + source + ": " + problem);
      }
      err.flush();
      early.whenComplete((made, failure) -> {
        if (made != null) {
          made.vertx().close();
        }
      });
      return EXIT_BAD_CONFIG;
    }
    Started made = early.join();
    ProxyServer server = new ProxyServer(settings, config, made.stats());
    server.start(made.vertx());
    // SIGTERM drains, as Envoy's does; handling it ourselves (not in a shutdown hook) lets the exit code be 0
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), sig -> new Thread(server::drainAndStop, "vmesh-drain").start());
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "vmesh-shutdown"));
    server.awaitStop();
    return 0;
  }

  private record Started(Vertx vertx, ProxyStats stats) {
  }
}
