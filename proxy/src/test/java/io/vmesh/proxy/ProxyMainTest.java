package io.vmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ProxyMainTest {

  @Test
  void onlyTheSubcommandNamedFirstIsBuilt() {
    assertThat(ProxyMain.commandLine(new String[] {"run", "--concurrency", "1"}).getSubcommands()).containsOnlyKeys("run");
    assertThat(ProxyMain.commandLine(new String[] {"wait"}).getSubcommands()).containsOnlyKeys("wait");
    assertThat(ProxyMain.commandLine(new String[] {"--help"}).getSubcommands()).containsOnlyKeys("capture", "run", "wait", "help");
    assertThat(ProxyMain.commandLine(new String[] {"help", "run"}).getSubcommands()).containsOnlyKeys("capture", "run", "wait", "help");
    assertThat(ProxyMain.commandLine(new String[] {"rnu"}).getSubcommands()).containsOnlyKeys("capture", "run", "wait", "help");
    assertThat(ProxyMain.commandLine().getSubcommands()).containsOnlyKeys("capture", "run", "wait", "help");
  }

  @Test
  void helpAndErrorsAreTheSameEitherWay() {
    assertThat(run("run", "--help")).startsWith("Usage: vmesh-proxy run ").contains("--bootstrap=FILE");
    assertThat(run("--help")).contains("capture", "run", "wait");
    assertThat(run("help", "run")).isEqualTo(run("run", "--help"));
    assertThat(run("rnu")).contains("Unmatched argument at index 0: 'rnu'").contains("capture ", "run ", "wait ");
    assertThat(run("run", "--concurrency", "x")).contains("Invalid value for option '--concurrency': 'x' is not an int");
  }

  private static String run(String... args) {
    StringWriter text = new StringWriter();
    CommandLine cl = ProxyMain.commandLine(args);
    cl.setOut(new PrintWriter(text)).setErr(new PrintWriter(text)).execute(args);
    return text.toString();
  }
}
