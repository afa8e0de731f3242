package io.vmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {

  @TempDir
  Path dir;

  @Test
  void aRefusedBootstrapExitsWithTwoAndNamesTheField() throws Exception {
    Path file = Files.writeString(dir.resolve("bad.yaml"), "admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }\n"
        + "static_resources: { listeners: [ { name: l, per_connection_buffer_limit_bytes: 1 } ] }\n");
    StringWriter err = new StringWriter();

    int code = ProxyMain.commandLine().setErr(new PrintWriter(err)).execute(
        "run", "--bootstrap", file.toString(), "--health-port", "0", "--prometheus-port", "0");

    assertThat(code).isEqualTo(RunCommand.EXIT_BAD_CONFIG);
    assertThat(err.toString()).contains(file + " refused; nothing started")
        .contains("static_resources.listeners[0].per_connection_buffer_limit_bytes");
  }
}
