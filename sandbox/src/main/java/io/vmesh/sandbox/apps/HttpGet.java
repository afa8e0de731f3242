package io.vmesh.sandbox.apps;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Prints the body of a GET; exit 0 on a 2xx status. Used to read a pod's admin endpoints from inside it. */
@Command(name = "http-get", mixinStandardHelpOptions = true, description = "Print the body of an HTTP GET.")
public final class HttpGet implements Callable<Integer> {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  /** What this app prints is its interface: the tests and the demo read it. */
  private java.io.PrintWriter out() {
    return spec.commandLine().getOut();
  }

  @Parameters(index = "0", paramLabel = "URL")
  URI url;

  @Override
  public Integer call() throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> res = client.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    out().print(res.body());
    out().flush();
    return res.statusCode() / 100 == 2 ? 0 : 1;
  }
}
