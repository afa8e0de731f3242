package io.vmesh.sandbox;

import io.vmesh.sandbox.cluster.MeshInABox;
import io.vmesh.sandbox.topology.SystemCommand;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Predicate;

/** Waiting on the box's API server with the real kubectl, as the end-to-end tests do between steps. */
final class BoxKubectl {

  private BoxKubectl() {
  }

  /** Re-runs {@code kubectl args} until it succeeds with an output (stripped) that {@code condition} accepts. */
  static void await(MeshInABox box, Duration timeout, Predicate<String> condition, String... args) throws InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    String last = "";
    while (Instant.now().isBefore(deadline)) {
      SystemCommand.Result r = box.kubectl(args);
      last = r.stdout().strip() + r.stderr().strip();
      if (r.ok() && condition.test(r.stdout().strip())) {
        return;
      }
      Thread.sleep(300);
    }
    throw new AssertionError("kubectl " + String.join(" ", args) + " never matched; last: " + last);
  }
}
