package io.vmesh.sandbox.topology;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A short command run to completion on the machine (ip, iptables), with its output. */
public final class SystemCommand {

  public record Result(List<String> command, int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }

    /** This result, or an exception naming the command and what it printed. */
    public Result orThrow() {
      if (!ok()) {
        throw new SandboxException(String.join(" ", command) + " failed (exit " + exitCode + "): "
            + (stderr.isBlank() ? stdout : stderr).strip());
      }
      return this;
    }
  }

  private SystemCommand() {
  }

  public static Result run(List<String> command, Duration timeout) {
    return run(command, null, timeout);
  }

  /** Runs {@code command} with exactly {@code env} as its environment (the caller's when null). */
  public static Result run(List<String> command, java.util.Map<String, String> env, Duration timeout) {
    return run(command, env, null, timeout);
  }

  /** Runs {@code command} with {@code input} on its standard input (nothing is written to a file for it). */
  public static Result runWithInput(List<String> command, String input, Duration timeout) {
    return run(command, null, input, timeout);
  }

  private static Result run(List<String> command, java.util.Map<String, String> env, String input, Duration timeout) {
    Process p;
    try {
      ProcessBuilder b = new ProcessBuilder(command);
      if (input == null) {
        b.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      }
      if (env != null) {
        b.environment().clear();
        b.environment().putAll(env);
      }
      p = b.start();
    } catch (IOException e) {
      throw new SandboxException("cannot start " + command.get(0) + ": " + e.getMessage(), e);
    }
    if (input != null) {
      try (java.io.OutputStream stdin = p.getOutputStream()) {
        stdin.write(input.getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        p.destroyForcibly();
        throw new SandboxException("cannot write the input of " + command.get(0) + ": " + e.getMessage(), e);
      }
    }
    CompletableFuture<String> out = drain(p.getInputStream());
    CompletableFuture<String> err = drain(p.getErrorStream());
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        throw new SandboxException(String.join(" ", command) + " did not finish within " + timeout.toSeconds() + " s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new SandboxException("interrupted while running " + String.join(" ", command), e);
    }
    return new Result(List.copyOf(command), p.exitValue(), out.join(), err.join());
  }

  /** Runs {@code command} and fails unless it exits 0. */
  public static Result check(String... command) {
    return run(List.of(command), Duration.ofSeconds(30)).orThrow();
  }

  static CompletableFuture<String> drain(InputStream stream) {
    return CompletableFuture.supplyAsync(() -> {
      try (stream) {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "";
      }
    });
  }
}
