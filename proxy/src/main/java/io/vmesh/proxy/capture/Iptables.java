package io.vmesh.proxy.capture;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The iptables tools of one address family, run as processes in the current network namespace. */
public final class Iptables {

  private static final long TIMEOUT_SECONDS = 30;

  private final String save;
  private final String restore;

  private Iptables(String save, String restore) {
    this.save = save;
    this.restore = restore;
  }

  public static Iptables ipv4() {
    return new Iptables("iptables-save", "iptables-restore");
  }

  /** The current nat table, as {@code iptables-save} prints it. */
  public String saveNat() throws IOException {
    return run(List.of(save, "-t", "nat"), null);
  }

  /** Applies {@code input} in one transaction; {@code --noflush} keeps every rule that is not vmesh's. */
  public void restoreNoFlush(String input) throws IOException {
    run(List.of(restore, "--noflush"), input);
  }

  private static String run(List<String> command, String stdin) throws IOException {
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(false).start();
    } catch (IOException e) {
      throw new IOException(command.get(0) + " could not be started (is iptables installed and on PATH?): " + e.getMessage(), e);
    }
    CompletableFuture<String> out = readAsync(p.getInputStream());
    CompletableFuture<String> err = readAsync(p.getErrorStream());
    try (OutputStream in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    try {
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + " s");
      }
      if (p.exitValue() != 0) {
        throw new IOException(String.join(" ", command) + " failed with exit code " + p.exitValue() + ": " + err.join().strip());
      }
      return out.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while running " + command.get(0), e);
    }
  }

  private static CompletableFuture<String> readAsync(InputStream stream) {
    return CompletableFuture.supplyAsync(() -> {
      try (stream) {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return "";
      }
    });
  }
}
