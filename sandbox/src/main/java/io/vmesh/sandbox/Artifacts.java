package io.vmesh.sandbox;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;

/** Where the vmesh jars and a Java runtime usable by every uid are. */
public final class Artifacts {

  private Artifacts() {
  }

  /** This sandbox's own jar (when run from it). */
  public static Path sandboxJar() {
    try {
      return Path.of(Artifacts.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code proxy/target/vmesh-proxy.jar} of the same checkout as {@code sandbox/target/vmesh-sandbox.jar}. */
  public static Path proxyJarBeside(Path sandboxJar) {
    Path checkout = sandboxJar.toAbsolutePath().getParent().getParent().getParent();
    return checkout.resolve("proxy/target/vmesh-proxy.jar");
  }

  /** The checkout {@code sandbox/target/vmesh-sandbox.jar} was built in. */
  public static Path checkoutOf(Path sandboxJar) {
    return sandboxJar.toAbsolutePath().getParent().getParent().getParent();
  }

  /** {@code <module>/target/vmesh-<module>.jar} of the same checkout as the sandbox jar. */
  public static Path moduleJarBeside(Path sandboxJar, String module) {
    return checkoutOf(sandboxJar).resolve(module + "/target/vmesh-" + module + ".jar");
  }

  /** The command line that runs {@code jar} with {@code args}, tuned for short-lived tools. */
  public static java.util.List<String> javaJar(Path jar, String... args) {
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(java(), "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC", "-jar", jar.toString()));
    cmd.addAll(java.util.List.of(args));
    return cmd;
  }

  /**
   * A java binary that non-root uids can run: this JVM's when every folder above it is open to
   * others, else {@code /usr/bin/java}.
   */
  public static String java() {
    Path own = Path.of(System.getProperty("java.home"), "bin", "java");
    for (Path p = own; p != null; p = p.getParent()) {
      try {
        if (!Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
          return "/usr/bin/java";
        }
      } catch (java.io.IOException e) {
        return "/usr/bin/java";
      }
    }
    return own.toString();
  }
}
