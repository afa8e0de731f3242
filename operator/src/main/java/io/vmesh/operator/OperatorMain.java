package io.vmesh.operator;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The operator's command line: {@code run} starts the controllers, {@code crds} prints the CRDs, {@code inject} injects offline. */
@Command(name = "vmesh-operator",
    mixinStandardHelpOptions = true,
    versionProvider = OperatorMain.Version.class,
    description = "The vmesh operator: reconciles TrafficCapture and MeshPolicy resources and reports their status.",
    subcommands = {RunCommand.class, CrdsCommand.class, InjectCommand.class, ProxyStatusCommand.class, CommandLine.HelpCommand.class})
public final class OperatorMain implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(new CommandLine(new OperatorMain()).execute(args));
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: run, crds, inject or proxy-status");
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = OperatorMain.class.getPackage().getImplementationVersion();
      return new String[] {"vmesh-operator " + (v == null ? "dev" : v)};
    }
  }
}
