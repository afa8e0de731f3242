package io.vmesh.sandbox.topology;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A long-running process inside a pod (a server, a sidecar); its output is kept line by line. */
public final class PodProcess implements AutoCloseable {

  private final String name;
  private final Process process;
  private final List<String> stdout = new ArrayList<>();
  private final List<String> stderr = new ArrayList<>();
  private final Path logFile;

  PodProcess(String name, Process process) {
    this(name, process, null);
  }

  /** Also appends every line to {@code logFile} (when not null), for people looking while it runs. */
  PodProcess(String name, Process process, Path logFile) {
    this.name = name;
    this.process = process;
    this.logFile = logFile;
    follow(process.getInputStream(), stdout, name + "-stdout");
    follow(process.getErrorStream(), stderr, name + "-stderr");
  }

  public String name() {
    return name;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public List<String> stdout() {
    synchronized (stdout) {
      return List.copyOf(stdout);
    }
  }

  public List<String> stderr() {
    synchronized (stderr) {
      return List.copyOf(stderr);
    }
  }

  /** Waits for a line on stdout or stderr that satisfies {@code condition}; fails if the process dies first. */
  public String awaitLine(Predicate<String> condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (List<String> lines : List.of(stdout(), stderr())) {
        for (String line : lines) {
          if (condition.test(line)) {
            return line;
          }
        }
      }
      if (!process.isAlive()) {
        throw new SandboxException(name + " exited with code " + process.exitValue() + " before it was ready; it printed:\n"
            + String.join("\n", stdout()) + "\n" + String.join("\n", stderr()));
      }
      sleep(50);
    }
    throw new SandboxException(name + " printed no expected line within " + timeout.toSeconds() + " s; it printed:\n"
        + String.join("\n", stdout()) + "\n" + String.join("\n", stderr()));
  }

  /** Stops it: SIGTERM, then SIGKILL after a grace period; children first. */
  @Override
  public void close() {
    stop(java.time.Duration.ofSeconds(5));
  }

  /** SIGTERM, then SIGKILL once {@code grace} has passed. */
  public void stop(java.time.Duration grace) {
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  /** SIGKILL at once, children first, as a crash or an OOM kill: no shutdown hook runs. */
  public void kill() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    try {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void follow(InputStream stream, List<String> sink, String threadName) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (sink) {
            sink.add(line);
          }
          if (logFile != null) {
            synchronized (logFile) {
              Files.writeString(logFile, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
          }
        }
      } catch (IOException e) {
        // the process is gone; what it printed so far is kept
      }
    }, threadName);
    t.setDaemon(true);
    t.start();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SandboxException("interrupted", e);
    }
  }
}
