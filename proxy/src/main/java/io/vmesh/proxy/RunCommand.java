package io.vmesh.proxy;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vmesh-proxy run}: the sidecar process. */
@Command(name = "run",
    mixinStandardHelpOptions = true,
    description = {"Run the proxy: virtualOutbound on the outbound capture port, admin on loopback.",
        "Runs until SIGTERM or SIGINT."})
public final class RunCommand implements Callable<Integer> {

  @Option(names = "--outbound-port", paramLabel = "PORT", description = "virtualOutbound port (default: ${DEFAULT-VALUE}).")
  int outboundPort = 15001;

  @Option(names = "--listen-address", paramLabel = "IP", description = "Address the capture listeners bind (default: ${DEFAULT-VALUE}).")
  String listenAddress = "0.0.0.0";

  @Option(names = "--admin-address", paramLabel = "IP", description = "Admin address; keep it on loopback (default: ${DEFAULT-VALUE}).")
  String adminAddress = "127.0.0.1";

  @Option(names = "--admin-port", paramLabel = "PORT", description = "Admin port (default: ${DEFAULT-VALUE}).")
  int adminPort = 15000;

  @Option(names = "--concurrency", paramLabel = "N", description = "Event loops, each with its own listener instance (default: ${DEFAULT-VALUE}).")
  int concurrency = 2;

  @Override
  public Integer call() throws Exception {
    ProxyServer server = new ProxyServer(new ProxyServer.Settings(listenAddress, outboundPort, adminAddress, adminPort, concurrency));
    server.start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "vmesh-shutdown"));
    server.awaitStop();
    return 0;
  }
}
