package io.vmesh.operator;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The real kubectl from the PATH, pointed at a kubeconfig. */
final class Kubectl {

  record Result(int exit, String out, String err) {
  }

  private final Path kubeconfig;

  Kubectl(Path kubeconfig) {
    this.kubeconfig = kubeconfig;
  }

  /** Fails under CI=true when kubectl is missing (the test must not silently skip there); skips elsewhere. */
  static void requireOnPath() {
    boolean found = Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        .anyMatch(dir -> Files.isExecutable(Path.of(dir, "kubectl")));
    if (!found && "true".equals(System.getenv("CI"))) {
      fail("kubectl is not on the PATH; CI=true requires it (install kubectl v1.32)");
    }
    assumeTrue(found, "kubectl is not on the PATH");
  }

  Result run(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("kubectl", "--kubeconfig", kubeconfig.toString()));
    command.addAll(Arrays.asList(args));
    Path out = Files.createTempFile("kubectl", ".out");
    Path err = Files.createTempFile("kubectl", ".err");
    try {
      Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        fail("kubectl " + String.join(" ", args) + " did not finish in 30 s");
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** Runs and insists on exit 0. */
  String ok(String... args) throws Exception {
    Result r = run(args);
    if (r.exit() != 0) {
      fail("kubectl " + String.join(" ", args) + " exited " + r.exit() + ": " + r.err() + r.out());
    }
    return r.out();
  }

  /**
   * Rows of kubectl's table output, keyed by NAME, each a map from column header to cell. Cells are cut at
   * the header positions, so that empty cells stay empty instead of shifting the others.
   */
  static Map<String, Map<String, String>> table(String output) {
    Map<String, Map<String, String>> rows = new LinkedHashMap<>();
    String[] lines = output.split("\n");
    List<int[]> columns = new ArrayList<>();
    List<String> headers = new ArrayList<>();
    for (String line : lines) {
      if (line.isBlank()) {
        columns.clear();
        headers.clear();
        continue;
      }
      if (headers.isEmpty()) {
        java.util.regex.Matcher header = java.util.regex.Pattern.compile("\\S+").matcher(line);
        while (header.find()) {
          headers.add(header.group());
          columns.add(new int[] {header.start()});
        }
        continue;
      }
      Map<String, String> row = new LinkedHashMap<>();
      for (int i = 0; i < headers.size(); i++) {
        int start = Math.min(columns.get(i)[0], line.length());
        int end = i + 1 < headers.size() ? Math.min(columns.get(i + 1)[0], line.length()) : line.length();
        row.put(headers.get(i), line.substring(start, end).trim());
      }
      rows.put(row.get("NAME"), row);
    }
    return rows;
  }
}
