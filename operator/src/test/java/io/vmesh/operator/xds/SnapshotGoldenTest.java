package io.vmesh.operator.xds;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code <case>/cluster.yaml} (Services, EndpointSlices, Pods, TrafficCaptures, MeshPolicies) → {@code <case>/<pod>.json},
 * each injected pod's snapshot as Envoy JSON. Regenerate with {@code -Dvmesh.golden.update=true} (or
 * {@code -Dvmesh.golden.write=true}) and review the diff.
 */
class SnapshotGoldenTest {

  static Stream<String> cases() throws IOException {
    return GoldenCases.names();
  }

  @ParameterizedTest
  @MethodSource("cases")
  void matchesGolden(String name) throws IOException {
    Path dir = GoldenCases.DIR.resolve(name);
    Map<String, ProxySnapshot> snapshots = GoldenCases.snapshots(name);
    boolean write = Boolean.getBoolean("vmesh.golden.update") || Boolean.getBoolean("vmesh.golden.write");
    if (write) {
      for (Path stale : jsonFiles(dir)) {
        Files.delete(stale);
      }
      for (Map.Entry<String, ProxySnapshot> e : snapshots.entrySet()) {
        Files.writeString(dir.resolve(e.getKey() + ".json"), SnapshotJson.print(e.getValue()), StandardCharsets.UTF_8);
      }
    }
    Set<String> expected = new TreeSet<>();
    for (Path file : jsonFiles(dir)) {
      String pod = file.getFileName().toString().replaceFirst("\\.json$", "");
      expected.add(pod);
    }
    assertThat(snapshots.keySet()).as("proxies with a snapshot in %s (run with -Dvmesh.golden.update=true to write them)", dir)
        .containsExactlyInAnyOrderElementsOf(expected);
    for (Map.Entry<String, ProxySnapshot> e : snapshots.entrySet()) {
      assertThat(SnapshotJson.print(e.getValue())).as("%s/%s.json", dir, e.getKey())
          .isEqualTo(Files.readString(dir.resolve(e.getKey() + ".json")));
    }
  }

  private static Set<Path> jsonFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return new TreeSet<>(files.filter(f -> f.getFileName().toString().endsWith(".json")).toList());
    }
  }
}
