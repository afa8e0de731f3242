package io.vmesh.proxy;

import io.vmesh.proxy.capture.CaptureCommand;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The sidecar's command line: {@code capture} runs in the init container, {@code run} is the proxy, {@code wait} holds the application until it is ready. */
@Command(name = "vmesh-proxy",
    mixinStandardHelpOptions = true,
    versionProvider = ProxyMain.Version.class,
    description = "The vmesh sidecar: traffic capture rules and the transparent proxy.")
public final class ProxyMain implements Runnable {

  /** The subcommands by name, in the order help lists them. */
  private static final Map<String, Class<?>> SUBCOMMANDS = new LinkedHashMap<>();

  static {
    SUBCOMMANDS.put("capture", CaptureCommand.class);
    SUBCOMMANDS.put("run", RunCommand.class);
    SUBCOMMANDS.put("wait", WaitCommand.class);
    SUBCOMMANDS.put("help", CommandLine.HelpCommand.class);
  }

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("run")) {
      RunCommand.prepare();
    }
    System.exit(commandLine(args).execute(args));
  }

  /** Every subcommand; enum values (--mode, --ipv6, --iptables) in any case. */
  public static CommandLine commandLine() {
    return commandLine(new String[0]);
  }

  /**
   * The command line for these arguments: when the first one names a subcommand, only that one is
   * built. picocli reads every option's annotations through reflection when it builds a subcommand, and
   * the sidecar's {@code run} has no use for {@code capture}'s model. Anything else ({@code help}, which
   * describes the others, a typo, no subcommand) gets them all, so what it prints is unchanged.
   */
  static CommandLine commandLine(String[] args) {
    CommandLine cl = new CommandLine(new ProxyMain());
    Class<?> named = args.length > 0 ? SUBCOMMANDS.get(args[0]) : null;
    if (named != null && named != CommandLine.HelpCommand.class) {
      cl.addSubcommand(args[0], named);
    } else {
      SUBCOMMANDS.forEach(cl::addSubcommand);
    }
    return cl.setCaseInsensitiveEnumValuesAllowed(true);
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
