package io.vmesh.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapVolumeSource;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code configMap} volumes, as the kubelet fills them: each key (or each listed item) a file in
 * {@code <pod dir>/volumes/<volume>/}, which {@link VolumeMounts} then mounts. A ConfigMap that does not exist holds
 * the pod before its containers (unless the volume is optional), as the kubelet's FailedMount does; {@link #refresh}
 * rewrites changed files in place, as the kubelet's periodic sync does, so a container sees updates through its mount.
 */
final class ConfigMapVolumes {

  private static final Logger LOG = LoggerFactory.getLogger(ConfigMapVolumes.class);

  private ConfigMapVolumes() {
  }

  /** Whether the pod has a configMap volume whose ConfigMap (or listed key) is missing and not optional. */
  static Optional<String> missing(Pod pod, KubernetesClient client) {
    for (Volume v : volumes(pod)) {
      ConfigMapVolumeSource source = v.getConfigMap();
      if (Boolean.TRUE.equals(source.getOptional())) {
        continue;
      }
      ConfigMap cm = get(client, pod, source);
      if (cm == null) {
        return Optional.of("MountVolume.SetUp failed for volume \"" + v.getName() + "\": configmap \"" + source.getName() + "\" not found");
      }
      for (KeyToPath item : source.getItems() == null ? List.<KeyToPath>of() : source.getItems()) {
        if (cm.getData() == null || !cm.getData().containsKey(item.getKey())) {
          return Optional.of("MountVolume.SetUp failed for volume \"" + v.getName() + "\": configmap \"" + source.getName()
              + "\" has no key \"" + item.getKey() + "\"");
        }
      }
    }
    return Optional.empty();
  }

  /** Writes (or rewrites when changed) the files of every configMap volume; the folders by volume name. */
  static Map<String, Path> refresh(Pod pod, KubernetesClient client, Path podDir) {
    Map<String, Path> folders = new LinkedHashMap<>();
    for (Volume v : volumes(pod)) {
      ConfigMapVolumeSource source = v.getConfigMap();
      try {
        Path dir = Files.createDirectories(podDir.resolve("volumes").resolve(v.getName()));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        folders.put(v.getName(), dir);
        ConfigMap cm = get(client, pod, source);
        Map<String, String> data = cm == null || cm.getData() == null ? Map.of() : cm.getData();
        Map<String, String> files = new LinkedHashMap<>();
        if (source.getItems() == null || source.getItems().isEmpty()) {
          files.putAll(data);
        } else {
          source.getItems().stream().filter(i -> data.containsKey(i.getKey())).forEach(i -> files.put(i.getPath(), data.get(i.getKey())));
        }
        for (Map.Entry<String, String> f : files.entrySet()) {
          write(dir, f.getKey(), f.getValue());
        }
      } catch (IOException | KubernetesClientException e) {
        LOG.warn("pod {}/{}: configMap volume {} not refreshed: {}", pod.getMetadata().getNamespace(), pod.getMetadata().getName(),
            v.getName(), e.getMessage());
      }
    }
    return folders;
  }

  private static void write(Path dir, String name, String content) throws IOException {
    Path file = dir.resolve(name).normalize();
    if (!file.startsWith(dir) || name.contains("..")) {
      throw new IOException("configMap item path " + name + " leaves the volume");
    }
    if (Files.isRegularFile(file) && Files.readString(file).equals(content)) {
      return;
    }
    Files.createDirectories(file.getParent());
    Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, content);
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
    // a rename: a reader sees the old file or the new one, never half of it
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static List<Volume> volumes(Pod pod) {
    return pod.getSpec().getVolumes() == null ? List.of()
        : pod.getSpec().getVolumes().stream().filter(v -> v.getConfigMap() != null).toList();
  }

  private static ConfigMap get(KubernetesClient client, Pod pod, ConfigMapVolumeSource source) {
    return client.configMaps().inNamespace(pod.getMetadata().getNamespace()).withName(source.getName()).get();
  }
}
