package io.vmesh.operator.xds;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** The golden cases under {@code src/test/resources/xds/<case>/}: {@code cluster.yaml} in, one {@code <pod>.json} per proxy out. */
final class GoldenCases {

  static final Path DIR = Path.of("src/test/resources/xds");
  static final String OPERATOR_NAMESPACE = "vmesh-system";

  private GoldenCases() {
  }

  static Stream<String> names() throws IOException {
    try (Stream<Path> dirs = Files.list(DIR)) {
      return dirs.filter(d -> Files.isRegularFile(d.resolve("cluster.yaml"))).map(d -> d.getFileName().toString()).sorted().toList().stream();
    }
  }

  /** The case's snapshots by pod name (pod names are unique within a case). */
  static Map<String, ProxySnapshot> snapshots(String name) {
    try {
      Path file = DIR.resolve(name).resolve("cluster.yaml");
      ClusterState state = ClusterState.fromYaml(Files.readString(file), file.toString(), OPERATOR_NAMESPACE);
      Map<String, ProxySnapshot> byPod = new TreeMap<>();
      SnapshotGenerator.generate(MeshModelBuilder.build(state)).forEach((id, snapshot) -> {
        if (byPod.put(id.podName(), snapshot) != null) {
          throw new IllegalStateException(name + ": two proxies named " + id.podName() + "; pod names must be unique in a case");
        }
      });
      return byPod;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
