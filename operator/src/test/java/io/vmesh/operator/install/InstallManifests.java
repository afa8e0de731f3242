package io.vmesh.operator.install;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** The objects of deploy/, read with fabric8 the way kubectl apply -f would send them. */
final class InstallManifests {

  static final Path REPO = Path.of("..");
  static final Path DEPLOY = REPO.resolve("deploy");
  static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private final List<HasMetadata> objects;

  private InstallManifests(List<HasMetadata> objects) {
    this.objects = objects;
  }

  static InstallManifests load() {
    List<HasMetadata> all = new ArrayList<>();
    for (Path file : yamlFiles(DEPLOY.resolve("crds"))) {
      all.addAll(parse(file));
    }
    for (Path file : yamlFiles(DEPLOY.resolve("operator"))) {
      all.addAll(parse(file));
    }
    return new InstallManifests(all);
  }

  static List<Path> yamlFiles(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every document of a YAML file as a typed object (fabric8 picks the class from apiVersion and kind). */
  static List<HasMetadata> parse(Path file) {
    try {
      Object parsed = SERIALIZATION.unmarshal(Files.readString(file));
      if (parsed instanceof List<?> list) {
        return list.stream().map(HasMetadata.class::cast).toList();
      }
      if (parsed instanceof KubernetesResourceList<?> list) {
        return list.getItems().stream().map(HasMetadata.class::cast).toList();
      }
      return List.of((HasMetadata) parsed);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  List<HasMetadata> all() {
    return objects;
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  <T extends HasMetadata> T one(Class<T> type) {
    List<T> found = all(type);
    if (found.size() != 1) {
      throw new AssertionError("deploy/ must hold exactly one " + type.getSimpleName() + ", found " + found.size());
    }
    return found.get(0);
  }

  <T extends HasMetadata> Optional<T> named(Class<T> type, String name) {
    return all(type).stream().filter(o -> name.equals(o.getMetadata().getName())).findFirst();
  }
}
