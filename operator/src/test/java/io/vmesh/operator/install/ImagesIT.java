package io.vmesh.operator.install;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.vmesh.operator.inject.InjectionSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The Dockerfiles under images/, checked after package since no container engine runs here: what they COPY
 * exists and is the runnable shaded jar, they run as a non-root uid, and their names agree with deploy/ and olm/.
 */
class ImagesIT {

  private static final Path IMAGES = InstallManifests.REPO.resolve("images");
  private static final String REGISTRY = "ghcr.io/vmesh/";

  /** One instruction of a Dockerfile, continuation lines joined. */
  record Instruction(String keyword, String args) {
  }

  @ParameterizedTest
  @ValueSource(strings = {"operator", "proxy"})
  void copiesTheShadedJarAndRunsItAsNonRoot(String image) throws IOException {
    List<Instruction> dockerfile = parse(IMAGES.resolve(image).resolve("Dockerfile"));
    List<Instruction> froms = dockerfile.stream().filter(i -> i.keyword().equals("FROM")).toList();
    assertThat(froms).as("multi-stage").hasSizeGreaterThanOrEqualTo(2);
    for (Instruction from : froms) {
      String base = from.args().split("\\s+")[0];
      assertThat(base).as("base images are pinned to a tag").matches(".+:[^/]+").doesNotEndWith(":latest");
    }
    List<String> copied = new ArrayList<>();
    for (Instruction copy : dockerfile.stream().filter(i -> i.keyword().equals("COPY")).toList()) {
      if (copy.args().startsWith("--from=")) {
        continue;
      }
      String[] paths = copy.args().split("\\s+");
      Path source = InstallManifests.REPO.resolve(paths[0]);
      assertThat(source).as("COPY source (build context: the repository root)").isRegularFile();
      if (!paths[0].endsWith(".jar")) {
        continue; // e.g. the proxy's jvm.options, shared with ./vmesh
      }
      try (JarFile jar = new JarFile(source.toFile())) {
        assertThat(jar.getManifest().getMainAttributes().getValue("Main-Class")).as(source + " is runnable").isNotBlank();
      }
      copied.add(paths[1]);
    }
    assertThat(copied).as("the image's jar").containsExactly("/opt/vmesh/vmesh-" + image + ".jar");
    Instruction entrypoint = last(dockerfile, "ENTRYPOINT");
    assertThat(entrypoint.args()).as("exec form, running the copied jar").startsWith("[").contains("\"-jar\"", "\"" + copied.get(0) + "\"");
    String user = last(dockerfile, "USER").args();
    assertThat(user).as("USER is a numeric non-root uid:gid").matches("[1-9][0-9]*:[1-9][0-9]*");
    assertThat(dockerfile.indexOf(last(dockerfile, "USER"))).as("USER in the final stage")
        .isGreaterThan(dockerfile.indexOf(froms.get(froms.size() - 1)));
  }

  @Test
  void theProxyImageRunsAsTheProxyUid() throws IOException {
    assertThat(last(parse(IMAGES.resolve("proxy/Dockerfile")), "USER").args()).isEqualTo("1337:1337");
  }

  @Test
  void imageNamesAndVersionsAgreeWithDeployAndTheBundle() throws IOException {
    Map<String, String> labels = labels(parse(IMAGES.resolve("operator/Dockerfile")));
    String image = REGISTRY + labels.get("org.opencontainers.image.title") + ":" + labels.get("org.opencontainers.image.version");
    Deployment deployment = InstallManifests.load().one(Deployment.class);
    assertThat(DeployManifestsTest.operatorContainer(deployment).getImage()).isEqualTo(image);
    var csv = OlmBundleTest.load().csv();
    assertThat(BundleRules.map(BundleRules.map(csv, "metadata"), "annotations").get("containerImage")).isEqualTo(image);
    assertThat(BundleRules.map(csv, "spec").get("version")).isEqualTo(labels.get("org.opencontainers.image.version"));
    Map<String, String> proxy = labels(parse(IMAGES.resolve("proxy/Dockerfile")));
    assertThat(proxy.get("org.opencontainers.image.title")).isEqualTo("vmesh-proxy");
    assertThat(proxy.get("org.opencontainers.image.version")).isEqualTo(labels.get("org.opencontainers.image.version"));
    // the injector's default sidecar image is this release's proxy image: an operator never injects another version
    assertThat(InjectionSettings.DEFAULT_IMAGE)
        .isEqualTo(REGISTRY + proxy.get("org.opencontainers.image.title") + ":" + proxy.get("org.opencontainers.image.version"));
  }

  static List<Instruction> parse(Path dockerfile) throws IOException {
    List<Instruction> instructions = new ArrayList<>();
    StringBuilder pending = new StringBuilder();
    for (String raw : Files.readAllLines(dockerfile)) {
      String line = raw.strip();
      if (line.startsWith("#") || (line.isEmpty() && pending.length() == 0)) {
        continue;
      }
      boolean continues = line.endsWith("\\");
      pending.append(continues ? line.substring(0, line.length() - 1) : line).append(' ');
      if (!continues) {
        String text = pending.toString().strip();
        int space = text.indexOf(' ');
        instructions.add(new Instruction(text.substring(0, space).toUpperCase(), text.substring(space + 1).strip()));
        pending.setLength(0);
      }
    }
    return instructions;
  }

  private static Instruction last(List<Instruction> dockerfile, String keyword) {
    return dockerfile.stream().filter(i -> i.keyword().equals(keyword)).reduce((a, b) -> b)
        .orElseThrow(() -> new AssertionError("no " + keyword));
  }

  private static Map<String, String> labels(List<Instruction> dockerfile) {
    Map<String, String> labels = new LinkedHashMap<>();
    Matcher m = Pattern.compile("(\\S+?)=(\\S+)").matcher("");
    dockerfile.stream().filter(i -> i.keyword().equals("LABEL")).forEach(i -> {
      m.reset(i.args());
      while (m.find()) {
        labels.put(m.group(1), m.group(2));
      }
    });
    return labels;
  }
}
