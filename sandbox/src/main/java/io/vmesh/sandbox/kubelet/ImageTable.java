package io.vmesh.sandbox.kubelet;

import io.vmesh.sandbox.Artifacts;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * There is no container runtime: an image is a local program. Each known image (its repository, any tag) has an
 * entrypoint and the programs it would carry on its PATH (so {@code command: [vmesh-proxy, wait]} runs the
 * proxy's jar); an image that is not in the table cannot be "pulled".
 */
public final class ImageTable {

  /** What an image runs: its ENTRYPOINT and the named programs in it. */
  public record Image(List<String> entrypoint, Map<String, List<String>> programs) {
  }

  private final Map<String, Image> images = new LinkedHashMap<>();

  /** An image whose entrypoint is {@code java -jar jar}, also on its PATH as {@code program}. */
  public ImageTable withJar(String repository, String program, Path jar) {
    List<String> run = Artifacts.javaJar(jar);
    images.put(repository, new Image(run, Map.of(program, run)));
    return this;
  }

  /** An image whose entrypoint is a python3 script (the sample apps). */
  public ImageTable withPythonScript(String repository, Path script) {
    List<String> run = List.of("/usr/bin/python3", "-u", script.toString());
    images.put(repository, new Image(run, Map.of()));
    return this;
  }

  /** The image for {@code ref} ({@code repo}, {@code repo:tag} or {@code repo@sha256:...}), if known. */
  public Optional<Image> find(String ref) {
    return Optional.ofNullable(images.get(repository(ref)));
  }

  public List<String> repositories() {
    return List.copyOf(images.keySet());
  }

  static String repository(String ref) {
    String r = ref;
    int at = r.indexOf('@');
    if (at >= 0) {
      r = r.substring(0, at);
    }
    int colon = r.lastIndexOf(':');
    if (colon > r.lastIndexOf('/')) {
      r = r.substring(0, colon);
    }
    return r;
  }

  /**
   * The process a container runs, the Kubernetes way: {@code command} replaces the entrypoint and {@code args}
   * replace the image's default arguments; a program the image carries is expanded to its local command line,
   * anything else runs from the machine's PATH.
   */
  public static List<String> commandLine(Image image, List<String> command, List<String> args) {
    List<String> line = new ArrayList<>();
    if (command == null || command.isEmpty()) {
      line.addAll(image.entrypoint());
    } else {
      line.addAll(expandProgram(image, command));
    }
    if (args != null) {
      line.addAll(args);
    }
    return line;
  }

  /** {@code command[0]} as the image's program when it has one by that name. */
  public static List<String> expandProgram(Image image, List<String> command) {
    List<String> program = image.programs().get(command.get(0));
    if (program == null) {
      return List.copyOf(command);
    }
    List<String> line = new ArrayList<>(program);
    line.addAll(command.subList(1, command.size()));
    return line;
  }
}
