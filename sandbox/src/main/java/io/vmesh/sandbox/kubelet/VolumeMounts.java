package io.vmesh.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Mounts a container's volumes at their mountPath without touching the machine's filesystem: the container runs
 * in a mount namespace of its own ({@code unshare --mount}), where a fresh tmpfs covers {@code /run} (so
 * {@code /var/run/secrets/...} can be made) and each volume folder is bind-mounted read-only. Only mount paths
 * that exist already or lie under /run can be mounted this way; others are refused, naming the path, rather than
 * created on the machine.
 */
final class VolumeMounts {

  private static final Path RUN = Path.of("/run");

  private VolumeMounts() {
  }

  /** The command that mounts {@code container}'s volumes found in {@code volumes}, then execs {@code command}. */
  static List<String> wrap(Container container, Map<String, Path> volumes, List<String> command) throws IOException {
    List<String> steps = new ArrayList<>();
    boolean tmpfsOnRun = false;
    for (VolumeMount m : container.getVolumeMounts() == null ? List.<VolumeMount>of() : container.getVolumeMounts()) {
      Path source = volumes.get(m.getName());
      if (source == null) {
        continue;
      }
      Path target = resolve(Path.of(m.getMountPath()));
      if (!Files.isDirectory(target)) {
        if (!target.startsWith(RUN)) {
          throw new IOException("volume " + m.getName() + ": cannot mount at " + m.getMountPath()
              + " (not under /run and not an existing folder; the sandbox does not create folders on the machine)");
        }
        if (!tmpfsOnRun) {
          steps.add("mount -t tmpfs -o mode=755 tmpfs /run");
          tmpfsOnRun = true;
        }
        steps.add("mkdir -p " + quote(target.toString()));
      }
      steps.add("mount --bind " + quote(source.toString()) + " " + quote(target.toString()));
      steps.add("mount -o remount,bind,ro " + quote(target.toString()));
    }
    if (steps.isEmpty()) {
      return command;
    }
    List<String> line = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
        String.join(" && ", steps) + " && exec \"$@\"", "sh"));
    line.addAll(command);
    return line;
  }

  /** The path with its existing ancestors' symlinks resolved ({@code /var/run} → {@code /run}). */
  static Path resolve(Path path) throws IOException {
    Path existing = path.toAbsolutePath().normalize();
    Path rest = Path.of("");
    while (existing != null && !Files.exists(existing)) {
      rest = existing.getFileName().resolve(rest);
      existing = existing.getParent();
    }
    return existing == null ? path : existing.toRealPath().resolve(rest);
  }

  private static String quote(String s) {
    if (s.contains("'")) {
      throw new IllegalArgumentException("a mount path with a quote: " + s);
    }
    return "'" + s + "'";
  }
}
