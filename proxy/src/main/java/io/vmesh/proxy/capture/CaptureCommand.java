package io.vmesh.proxy.capture;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Writes the capture rules into the current network namespace; the init container runs it as root.
 * Idempotent: rules that are already exactly in place are left alone, different vmesh rules are an
 * error (nothing is changed), {@code --cleanup} removes vmesh's rules and nothing else.
 */
@Command(name = "capture",
    mixinStandardHelpOptions = true,
    description = {"Write the iptables rules that send this network namespace's TCP through the proxy.",
        "Applied atomically with iptables-restore --noflush; rules of others are never touched."})
public final class CaptureCommand implements Callable<Integer> {

  @Option(names = "--outbound-port", paramLabel = "PORT",
      description = "Port of the proxy's virtualOutbound listener (default: ${DEFAULT-VALUE}).")
  int outboundPort = CaptureConfig.DEFAULT_OUTBOUND_PORT;

  @Option(names = "--proxy-uid", paramLabel = "UID", split = ",",
      description = "Uid(s) whose traffic is never captured: the proxy's (default: 1337).")
  List<Integer> proxyUids = new ArrayList<>(List.of(CaptureConfig.DEFAULT_PROXY_ID));

  @Option(names = "--proxy-gid", paramLabel = "GID", split = ",",
      description = "Gid(s) whose traffic is never captured (default: 1337).")
  List<Integer> proxyGids = new ArrayList<>(List.of(CaptureConfig.DEFAULT_PROXY_ID));

  @Option(names = "--dry-run", description = "Print the iptables-restore input and apply nothing.")
  boolean dryRun;

  @Option(names = "--cleanup", description = "Remove every vmesh rule and chain, and nothing else.")
  boolean cleanup;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    CaptureRules rules;
    try {
      rules = CaptureRules.ipv4(new CaptureConfig(outboundPort, proxyUids, proxyGids));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "invalid capture options: " + e.getMessage());
    }
    if (dryRun && !cleanup) {
      out.print("# iptables-restore --noflush (IPv4)\n" + rules.restoreInput());
      out.flush();
      return 0;
    }
    try {
      Iptables iptables = Iptables.ipv4();
      CaptureState state = CaptureState.of(iptables.saveNat());
      if (cleanup) {
        String input = state.cleanupInput();
        if (dryRun) {
          out.print(input.isEmpty() ? "# nothing to remove\n" : "# iptables-restore --noflush (IPv4)\n" + input);
        } else if (input.isEmpty()) {
          out.println("vmesh capture: no vmesh rules present, nothing removed");
        } else {
          iptables.restoreNoFlush(input);
          out.println("vmesh capture: removed vmesh chains " + state.chains());
        }
        out.flush();
        return 0;
      }
      if (state.ownedLines().isEmpty() && state.chains().isEmpty()) {
        iptables.restoreNoFlush(rules.restoreInput());
        out.println("vmesh capture: applied " + rules.lines().size() + " IPv4 rules (outbound TCP -> :" + outboundPort + ")");
        out.flush();
        return 0;
      }
      if (state.ownedLines().equals(rules.lines())) {
        out.println("vmesh capture: IPv4 rules already in place, nothing changed");
        out.flush();
        return 0;
      }
      err.println("vmesh capture: different vmesh rules are already in this namespace; nothing changed. "
          + "Remove them with 'capture --cleanup' first.\n  present: " + state.ownedLines() + "\n  wanted:  " + rules.lines());
      err.flush();
      return 1;
    } catch (IOException e) {
      err.println("vmesh capture: " + e.getMessage());
      err.flush();
      return 1;
    }
  }
}
