package io.vmesh.sandbox;

import io.vmesh.sandbox.topology.SystemCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The namespace tests need root and the ip, iptables and setpriv tools. Under {@code CI=true} a missing
 * one fails the run (they must never be skipped there); elsewhere the tests are skipped, saying why.
 */
public final class NeedsRootAndNetns implements BeforeAllCallback {

  @Override
  public void beforeAll(ExtensionContext context) {
    List<String> missing = missing();
    if (missing.isEmpty()) {
      return;
    }
    String why = String.join("; ", missing);
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new IllegalStateException("CI=true, so the namespace tests must run, but they cannot: " + why);
    }
    Assumptions.assumeTrue(missing.isEmpty(), "namespace tests skipped outside CI: " + why);
  }

  static List<String> missing() {
    List<String> missing = new ArrayList<>();
    String uid = SystemCommand.check("id", "-u").stdout().strip();
    if (!uid.equals("0")) {
      missing.add("not root (uid " + uid + ")");
    }
    for (String tool : List.of("ip", "iptables-restore", "iptables-save", "setpriv", "nsenter", "unshare")) {
      if (!onPath(tool)) {
        missing.add(tool + " is not installed (apt-get install -y iptables iproute2 util-linux)");
      }
    }
    return missing;
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }
}
