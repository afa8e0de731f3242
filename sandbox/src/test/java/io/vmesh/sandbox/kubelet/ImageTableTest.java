package io.vmesh.sandbox.kubelet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageTableTest {

  private final ImageTable images = new ImageTable()
      .withJar("ghcr.io/vmesh/vmesh-proxy", "vmesh-proxy", Path.of("/opt/proxy.jar"))
      .withPythonScript("ghcr.io/vmesh/samples/reviews", Path.of("/opt/apps/reviews.py"));

  @Test
  void anImageIsFoundByItsRepositoryWhateverTheTagOrDigest() {
    assertThat(images.find("ghcr.io/vmesh/vmesh-proxy:0.1.0")).isPresent();
    assertThat(images.find("ghcr.io/vmesh/vmesh-proxy@sha256:abc")).isPresent();
    assertThat(images.find("ghcr.io/vmesh/vmesh-proxy")).isPresent();
    assertThat(images.find("localhost:5000/vmesh-proxy:1")).isEmpty();
    assertThat(ImageTable.repository("localhost:5000/app")).isEqualTo("localhost:5000/app");
  }

  @Test
  void argsFollowTheEntrypointAndCommandReplacesIt() {
    ImageTable.Image proxy = images.find("ghcr.io/vmesh/vmesh-proxy:latest").orElseThrow();
    List<String> run = ImageTable.commandLine(proxy, null, List.of("run"));
    assertThat(run).endsWith("-jar", "/opt/proxy.jar", "run");
    // a program the image carries is its local command line; anything else comes from the machine's PATH
    assertThat(ImageTable.commandLine(proxy, List.of("vmesh-proxy", "wait"), List.of("--timeout=60")))
        .endsWith("-jar", "/opt/proxy.jar", "wait", "--timeout=60");
    assertThat(ImageTable.commandLine(proxy, List.of("sleep", "5"), null)).containsExactly("sleep", "5");
    ImageTable.Image reviews = images.find("ghcr.io/vmesh/samples/reviews:0.1.0").orElseThrow();
    assertThat(ImageTable.commandLine(reviews, null, null)).containsExactly("/usr/bin/python3", "-u", "/opt/apps/reviews.py");
  }
}
