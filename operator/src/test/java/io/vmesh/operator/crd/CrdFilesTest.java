package io.vmesh.operator.crd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The CRDs checked in under crds/ are exactly what the build generates from the Java types. */
class CrdFilesTest {

  private static final Path CRDS = Path.of("..", "crds");
  private static final String HOW_TO_FIX =
      "crds/ is out of date with the Java types; regenerate it with: java -jar operator/target/vmesh-operator.jar crds --output-dir crds";

  @Test
  void checkedInCrdsMatchTheGeneratedOnes() throws IOException {
    Map<String, String> generated = CrdManifests.load();
    for (Map.Entry<String, String> crd : generated.entrySet()) {
      Path file = CRDS.resolve(crd.getKey());
      assertThat(file).as(HOW_TO_FIX).exists();
      assertThat(Files.readString(file)).as(HOW_TO_FIX + " (" + file + ")").isEqualTo(crd.getValue());
    }
    try (Stream<Path> files = Files.list(CRDS)) {
      assertThat(files.map(f -> f.getFileName().toString())).as("files in crds/ that no Java type generates")
          .containsExactlyInAnyOrderElementsOf(generated.keySet());
    }
  }

  @Test
  void printerColumnsComeInTheDeclaredOrder() {
    String tc = CrdManifests.load().get("trafficcaptures.vmesh.io.yaml");
    assertThat(tc).containsSubsequence("name: \"Mode\"", "name: \"Ready\"", "name: \"Reason\"", "name: \"Matched\"",
        "name: \"Injected\"", "name: \"Outdated\"", "name: \"Age\"");
    String mp = CrdManifests.load().get("meshpolicies.vmesh.io.yaml");
    assertThat(mp).containsSubsequence("name: \"Outbound\"", "name: \"Ready\"", "name: \"Reason\"", "name: \"Synced\"", "name: \"Age\"");
  }
}
