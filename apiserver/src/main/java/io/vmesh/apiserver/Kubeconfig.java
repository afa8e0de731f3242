package io.vmesh.apiserver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** The kubeconfig that points kubectl and fabric8 clients at the embedded API server. */
final class Kubeconfig {

  static final String NAME = "vmesh-embedded";

  private Kubeconfig() {
  }

  /** Plain HTTP and no credentials: the embedded server listens on loopback and checks no identity. */
  static String render(String serverUrl, String namespace) {
    return String.join("\n",
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: " + NAME,
        "  cluster:",
        "    server: " + serverUrl,
        "contexts:",
        "- name: " + NAME,
        "  context:",
        "    cluster: " + NAME,
        "    user: " + NAME,
        "    namespace: " + namespace,
        "current-context: " + NAME,
        "users:",
        "- name: " + NAME,
        "  user: {}",
        "preferences: {}",
        "");
  }

  /** Writes through a temporary file so that a reader never sees half a kubeconfig. */
  static void write(Path file, String serverUrl, String namespace) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".kubeconfig", ".tmp");
    Files.writeString(tmp, render(serverUrl, namespace), StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
