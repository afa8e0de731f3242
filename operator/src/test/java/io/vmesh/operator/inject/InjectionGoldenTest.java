package io.vmesh.operator.inject;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.vmesh.operator.api.TrafficCapture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code in-NAME.yaml} (objects and TrafficCaptures) → {@code out-NAME.yaml}, exactly what {@code inject} prints.
 * Regenerate with {@code -Dvmesh.golden.update=true} and review the diff.
 */
class InjectionGoldenTest {

  static final Path DIR = Path.of("src/test/resources/inject");
  /** Cases that need another cluster version than 1.30. */
  static final Map<String, String> CLUSTER = Map.of("old-cluster", "1.28");

  static Stream<String> cases() throws IOException {
    try (Stream<Path> files = Files.list(DIR)) {
      return files.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("in-") && n.endsWith(".yaml"))
          .map(n -> n.substring(3, n.length() - 5))
          .sorted()
          .toList()
          .stream();
    }
  }

  static String render(String name) {
    try {
      InjectionSettings settings = InjectionSettings.of(InjectionSettings.DEFAULT_IMAGE, InjectionSettings.DEFAULT_XDS_ADDRESS,
          CLUSTER.getOrDefault(name, "1.30"), InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);
      List<HasMetadata> docs = Manifests.read(Files.readString(DIR.resolve("in-" + name + ".yaml")), "in-" + name + ".yaml");
      List<TrafficCapture> captures = docs.stream().filter(TrafficCapture.class::isInstance).map(TrafficCapture.class::cast).toList();
      List<String> out = new ArrayList<>();
      for (HasMetadata o : docs) {
        if (!(o instanceof TrafficCapture)) {
          out.add(WorkloadInjection.render(WorkloadInjection.inject(o, captures, settings, "shop")));
        }
      }
      return String.join("---\n", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @ParameterizedTest
  @MethodSource("cases")
  void matchesGolden(String name) throws IOException {
    String actual = render(name);
    Path golden = DIR.resolve("out-" + name + ".yaml");
    if (Boolean.getBoolean("vmesh.golden.update")) {
      Files.writeString(golden, actual, StandardCharsets.UTF_8);
    }
    assertThat(golden).as("golden file %s (run with -Dvmesh.golden.update=true to create it)", golden).exists();
    assertThat(actual).isEqualTo(Files.readString(golden));
  }
}
