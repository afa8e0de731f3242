package io.vmesh.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

/** The jars under test, as the build passes them to the integration tests. */
final class Jars {

  private Jars() {
  }

  static Path proxy() {
    return existing("vmesh.proxy.jar");
  }

  static Path apiserver() {
    return existing("vmesh.apiserver.jar");
  }

  static Path operator() {
    return existing("vmesh.operator.jar");
  }

  static Path repo() {
    return Path.of(System.getProperty("vmesh.repo.dir", "..")).toAbsolutePath().normalize();
  }

  static Path sandbox() {
    return existing("vmesh.sandbox.jar");
  }

  private static Path existing(String property) {
    String value = System.getProperty(property);
    assertThat(value).as("system property " + property + " (set by the failsafe configuration)").isNotBlank();
    Path jar = Path.of(value);
    assertThat(jar).as(property).isRegularFile();
    return jar;
  }
}
