package io.vmesh.proxy;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmesh-proxy wait}: polls the proxy's readiness endpoint until it answers 200. The injected sidecar runs it as
 * its postStart hook, so the kubelet starts the application containers only once the proxy is ready.
 */
@Command(name = "wait",
    mixinStandardHelpOptions = true,
    description = {"Wait until the proxy's readiness endpoint answers 200; exit 1 after --timeout."})
public final class WaitCommand implements Callable<Integer> {

  @Option(names = "--url", paramLabel = "URL", description = "Readiness endpoint (default: ${DEFAULT-VALUE}).")
  URI url = URI.create("http://127.0.0.1:15021/healthz/ready");

  @Option(names = "--timeout", paramLabel = "SECONDS", description = "Give up after this many seconds (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds = 60;

  @Option(names = "--period", paramLabel = "MILLIS", description = "Pause between attempts, in milliseconds (default: ${DEFAULT-VALUE}).")
  int periodMillis = 200;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    if (timeoutSeconds < 1 || periodMillis < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--timeout and --period must be positive");
    }
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    HttpRequest request = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(1)).GET().build();
    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      try {
        int status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        if (status == 200) {
          spec.commandLine().getOut().println("vmesh wait: " + url + " is ready");
          spec.commandLine().getOut().flush();
          return 0;
        }
        last = "HTTP " + status;
      } catch (IOException e) {
        last = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
      }
      Thread.sleep(periodMillis);
    }
    spec.commandLine().getErr().println("vmesh wait: " + url + " not ready after " + timeoutSeconds + " s (last: " + last + ")");
    spec.commandLine().getErr().flush();
    return 1;
  }
}
