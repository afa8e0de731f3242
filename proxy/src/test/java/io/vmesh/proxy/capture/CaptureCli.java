package io.vmesh.proxy.capture;

import io.vmesh.proxy.ProxyMain;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

/** {@code vmesh-proxy capture ...} run in-process through the real command line, with what it printed. */
record CaptureCli(int exitCode, String out, String err) {

  static CaptureCli run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    List<String> all = new ArrayList<>(List.of("capture"));
    all.addAll(List.of(args));
    int code = ProxyMain.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(all.toArray(String[]::new));
    return new CaptureCli(code, out.toString(), err.toString());
  }
}
