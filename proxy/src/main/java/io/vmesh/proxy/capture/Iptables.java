package io.vmesh.proxy.capture;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The iptables tools of one address family and backend, run as processes in the current network namespace. */
public final class Iptables {

  private static final long TIMEOUT_SECONDS = 30;

  /** Which kernel interface the rules go through; {@code SYSTEM} is whatever plain {@code iptables} is on this machine. */
  public enum Backend { LEGACY, NFT, SYSTEM }

  private final Family family;
  private final Backend backend;

  private Iptables(Family family, Backend backend) {
    this.family = family;
    this.backend = backend;
  }

  public static Iptables of(Family family, Backend backend) {
    return new Iptables(family, backend);
  }

  public Backend backend() {
    return backend;
  }

  /**
   * The backend that already holds rules in this namespace: the one with vmesh chains, else the one with
   * any rules, else the system's default. Rules written through the other backend would be invisible to
   * it (and to whoever reads the namespace with it).
   */
  public static Backend detect() {
    int[] vmesh = new int[2];
    int[] any = new int[2];
    Backend[] candidates = {Backend.LEGACY, Backend.NFT};
    for (int i = 0; i < candidates.length; i++) {
      for (Family f : Family.values()) {
        Iptables t = new Iptables(f, candidates[i]);
        if (!onPath(t.tool("save"))) {
          continue;
        }
        String save;
        try {
          save = t.save();
        } catch (IOException e) {
          continue; // this backend cannot even be read here, so it holds nothing of ours
        }
        vmesh[i] += RuleSet.parse(save).isEmpty() ? 0 : 1;
        any[i] += (int) save.lines().filter(l -> l.startsWith("-A ")).count();
      }
    }
    if (vmesh[0] > 0 != vmesh[1] > 0) {
      return vmesh[0] > 0 ? Backend.LEGACY : Backend.NFT;
    }
    if (any[0] > 0 != any[1] > 0) {
      return any[0] > 0 ? Backend.LEGACY : Backend.NFT;
    }
    return Backend.SYSTEM;
  }

  /** Every table, as {@code iptables-save} prints it. */
  public String save() throws IOException {
    return run(List.of(tool("save")), null);
  }

  /** Checks {@code input} without committing it. */
  public void test(String input) throws IOException {
    run(List.of(tool("restore"), "--noflush", "--test"), input);
  }

  /** Applies {@code input} in one transaction; {@code --noflush} keeps every rule that is not vmesh's. */
  public void restoreNoFlush(String input) throws IOException {
    run(List.of(tool("restore"), "--noflush"), input);
  }

  private String tool(String action) {
    String base = family == Family.IPV4 ? "iptables" : "ip6tables";
    return switch (backend) {
      case LEGACY -> base + "-legacy-" + action;
      case NFT -> base + "-nft-" + action;
      case SYSTEM -> base + "-" + action;
    };
  }

  static boolean onPath(String tool) {
    String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    for (String dir : path.split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }

  /** Runs {@code command} to completion, feeding it {@code stdin}; fails with what it printed unless it exits 0. */
  static String run(List<String> command, String stdin) throws IOException {
    Process p;
    try {
      p = new ProcessBuilder(new ArrayList<>(command)).start();
    } catch (IOException e) {
      throw new IOException(command.get(0) + " could not be started (is it installed and on PATH?): " + e.getMessage(), e);
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
