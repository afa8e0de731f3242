package io.vmesh.proxy;

import io.vmesh.proxy.capture.CaptureCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The sidecar's command line: {@code capture} runs in the init container, {@code run} is the proxy, {@code wait} holds the application until it is ready. */
@Command(name = "vmesh-proxy",
    mixinStandardHelpOptions = true,
    versionProvider = ProxyMain.Version.class,
    description = "The vmesh sidecar: traffic capture rules and the transparent proxy.",
    subcommands = {CaptureCommand.class, RunCommand.class, WaitCommand.class, CommandLine.HelpCommand.class})
public final class ProxyMain implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command line as {@code main} runs it; enum values (--mode, --ipv6, --iptables) in any case. */
  public static CommandLine commandLine() {
    return new CommandLine(new ProxyMain()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: capture, run or wait");
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = ProxyMain.class.getPackage().getImplementationVersion();
      return new String[] {"vmesh-proxy " + (v == null ? "dev" : v)};
    }
  }
}
