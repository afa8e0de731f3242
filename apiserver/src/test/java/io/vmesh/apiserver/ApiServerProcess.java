package io.vmesh.apiserver;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The built {@code vmesh-apiserver.jar} run as a process, the way scripts and the sandbox run it. */
final class ApiServerProcess implements AutoCloseable {

  private static final Pattern READY = Pattern.compile("^vmesh-apiserver ready: (http://\\S+) kubeconfig=(\\S+)$");

  final Process process;
  final String url;
  final Path kubeconfig;

  private ApiServerProcess(Process process, String url, Path kubeconfig) {
    this.process = process;
    this.url = url;
    this.kubeconfig = kubeconfig;
  }

  static ApiServerProcess start(Path dir) throws Exception {
    String jar = System.getProperty("vmesh.apiserver.jar", "target/vmesh-apiserver.jar");
    if (!Files.isRegularFile(Paths.get(jar))) {
      throw new IllegalStateException("build the jar first (mvn package): " + jar);
    }
    Path kubeconfig = dir.resolve("kubeconfig");
    String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-jar", jar, "--port", "0", "--kubeconfig-out", kubeconfig.toString())
        .redirectError(dir.resolve("apiserver.log").toFile())
        .start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<Matcher> ready = CompletableFuture.supplyAsync(() -> {
      try {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          Matcher m = READY.matcher(line);
          if (m.matches()) {
            return m;
          }
        }
        return null;
      } catch (IOException e) {
        return null;
      }
    });
    Matcher m;
    try {
      m = ready.get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      m = null;
    }
    if (m == null) {
      p.destroyForcibly();
      throw new IllegalStateException("no ready line from " + jar + "; log: "
          + Files.readString(dir.resolve("apiserver.log")));
    }
    return new ApiServerProcess(p, m.group(1), Paths.get(m.group(2)));
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
