package io.vmesh.sandbox;

import io.vmesh.sandbox.apps.EchoClient;
import io.vmesh.sandbox.apps.EchoServer;
import io.vmesh.sandbox.apps.HttpGet;
import io.vmesh.sandbox.apps.MatrixClient;
import io.vmesh.sandbox.apps.MatrixServer;
import io.vmesh.sandbox.cluster.NodeCommand;
import io.vmesh.sandbox.cluster.UpCommand;
import io.vmesh.sandbox.demo.DemoCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Mesh-in-a-box: the demo, and the small programs that play the sample apps inside pods. */
@Command(name = "vmesh-sandbox",
    mixinStandardHelpOptions = true,
    description = "Mesh-in-a-box: pods as network namespaces on this machine, no cluster needed.",
    subcommands = {DemoCommand.class, UpCommand.class, NodeCommand.class, EchoServer.class, EchoClient.class, HttpGet.class,
        MatrixServer.class, MatrixClient.class, CommandLine.HelpCommand.class})
public final class SandboxMain implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(new CommandLine(new SandboxMain()).execute(args));
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required, e.g. demo");
  }
}
