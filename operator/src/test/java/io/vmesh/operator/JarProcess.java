package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A built jar run as its own process (own classpath), output to files; stopping it always ends it. */
public final class JarProcess implements AutoCloseable {

  private final String name;
  private final Process process;
  final Path stdout;
  final Path stderr;

  private JarProcess(String name, Process process, Path stdout, Path stderr) {
    this.name = name;
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  public static JarProcess start(String name, Path jar, Path dir, Map<String, String> env, String... args) throws IOException {
    assertThat(jar).as(name + " jar (built by mvn package)").isRegularFile();
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString()));
    command.addAll(List.of(args));
    Path out = dir.resolve(name + ".out");
    Path err = dir.resolve(name + ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    return new JarProcess(name, process, out, err);
  }

  /** Waits for the first match of the pattern in stdout or stderr; fails with the log when the process dies or time runs out. */
  public Matcher await(Pattern pattern, Duration timeout) throws IOException, InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)) {
      Optional<Matcher> found = find(pattern, stdout).or(() -> find(pattern, stderr));
      if (found.isPresent()) {
        return found.get();
      }
      if (!process.isAlive()) {
        throw new AssertionError(name + " exited with " + process.exitValue() + " before printing " + pattern + ":\n" + log());
      }
      Thread.sleep(100);
    }
    throw new AssertionError(name + " did not print " + pattern + " within " + timeout + ":\n" + log());
  }

  boolean isAlive() {
    return process.isAlive();
  }

  public String log() throws IOException {
    return Files.readString(stdout) + Files.readString(stderr);
  }

  private static Optional<Matcher> find(Pattern pattern, Path file) {
    try {
      Matcher matcher = pattern.matcher(Files.readString(file));
      return matcher.find() ? Optional.of(matcher) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** SIGTERM, as the kubelet stops a container; fails when the process is still running after the timeout. */
  public void terminate(Duration timeout) throws Exception {
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError(name + " still running " + timeout.toSeconds() + " s after SIGTERM; its log:\n" + log());
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
  }
}
