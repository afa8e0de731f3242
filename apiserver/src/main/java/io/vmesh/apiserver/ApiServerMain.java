package io.vmesh.apiserver;

import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vmesh-apiserver}: a Kubernetes API server for one machine, enough for kubectl and the operator. */
@Command(name = "vmesh-apiserver", mixinStandardHelpOptions = true, version = "vmesh-apiserver 0.1.0",
    description = {
        "Serves fabric8's CRUD Kubernetes mock with discovery, status subresources and Table answers,",
        "so that the real kubectl and fabric8 clients work against it. Prints a 'ready' line with the URL."})
public final class ApiServerMain implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(ApiServerMain.class);

  @Option(names = "--port", defaultValue = "0", description = "TCP port; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--host", defaultValue = "127.0.0.1",
      description = "Address to listen on (default: ${DEFAULT-VALUE}; there is no authentication).")
  String host;

  @Option(names = "--kubeconfig-out", paramLabel = "FILE",
      description = "Write a kubeconfig for this server to FILE once it serves.")
  Path kubeconfigOut;

  @Option(names = "--namespace", defaultValue = "default",
      description = "Default namespace in the written kubeconfig (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Override
  public Integer call() throws Exception {
    EmbeddedApiServer server;
    try {
      server = EmbeddedApiServer.start(host, port, Clock.systemUTC());
    } catch (IllegalStateException e) {
      Throwable cause = e.getCause() != null && e.getCause().getCause() != null ? e.getCause().getCause() : e;
      LOG.error("cannot serve on {}:{}: {}", host, port, cause.getMessage());
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping");
      server.close();
      stopped.countDown();
    }, "apiserver-shutdown"));
    if (kubeconfigOut != null) {
      Kubeconfig.write(kubeconfigOut, server.url(), namespace);
    }
    // the one line scripts and tests wait for; the URL is the only thing they need from it
    System.out.println("vmesh-apiserver ready: " + server.url()
        + (kubeconfigOut != null ? " kubeconfig=" + kubeconfigOut.toAbsolutePath() : ""));
    System.out.flush();
    stopped.await();
    return 0;
  }

  public static void main(String[] args) {
    // the mock logs through java.util.logging; send it to logback with the rest
    SLF4JBridgeHandler.removeHandlersForRootLogger();
    SLF4JBridgeHandler.install();
    System.exit(new CommandLine(new ApiServerMain()).execute(args));
  }
}
