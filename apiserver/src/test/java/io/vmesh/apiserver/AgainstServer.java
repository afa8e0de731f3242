package io.vmesh.apiserver;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** A test class that drives one API server process (the built jar) with the real kubectl. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AgainstServer {

  Path dir;
  ApiServerProcess server;
  Kubectl kubectl;

  @BeforeAll
  void startServer(@TempDir Path tempDir) throws Exception {
    Kubectl.requireOnPath();
    dir = tempDir;
    server = ApiServerProcess.start(dir);
    kubectl = new Kubectl(server.kubeconfig);
  }

  @AfterAll
  void stopServer() throws Exception {
    if (server != null) {
      server.close();
    }
  }
}
