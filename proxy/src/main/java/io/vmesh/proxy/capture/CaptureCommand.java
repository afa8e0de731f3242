package io.vmesh.proxy.capture;

import io.vmesh.proxy.capture.CaptureConfig.Mode;
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
 * Every option is checked before anything is read or written; every family is checked before any is
 * changed; a family that fails to apply rolls back the ones applied before it.
 */
@Command(name = "capture",
    mixinStandardHelpOptions = true,
    subcommands = {ValidateCommand.class, InspectCommand.class},
    description = {"Write the iptables rules that send this network namespace's TCP through the proxy.",
        "Applied atomically per family with iptables-restore --noflush; rules of others are never touched."})
public final class CaptureCommand implements Callable<Integer> {

  /** Whether ip6tables is programmed. */
  public enum Ipv6 { AUTO, ON, OFF }

  @Option(names = "--mode", paramLabel = "MODE", description = "REDIRECT or TPROXY (default: ${DEFAULT-VALUE}).")
  Mode mode = Mode.REDIRECT;

  @Option(names = "--inbound-port", paramLabel = "PORT", description = "The proxy's virtualInbound port (default: ${DEFAULT-VALUE}).")
  int inboundPort = CaptureConfig.DEFAULT_INBOUND_PORT;

  @Option(names = "--outbound-port", paramLabel = "PORT", description = "The proxy's virtualOutbound port (default: ${DEFAULT-VALUE}).")
  int outboundPort = CaptureConfig.DEFAULT_OUTBOUND_PORT;

  @Option(names = "--inbound-ports", paramLabel = "'*'|PORTS", description = "Inbound ports captured: '*' (all) or a list, '' for none (default: ${DEFAULT-VALUE}).")
  String inboundPorts = "*";

  @Option(names = "--exclude-inbound-ports", paramLabel = "PORTS", description = "Inbound ports never captured; only with --inbound-ports '*'.")
  String excludeInboundPorts = "";

  @Option(names = "--outbound-ip-ranges", paramLabel = "'*'|CIDRS", description = "Destinations captured: '*' (all) or CIDRs, '' for none (default: ${DEFAULT-VALUE}).")
  String outboundRanges = "*";

  @Option(names = "--exclude-outbound-ip-ranges", paramLabel = "CIDRS", description = "Destinations never captured.")
  String excludeOutboundRanges = "";

  @Option(names = "--outbound-ports", paramLabel = "PORTS", description = "Destination ports always captured, whatever the ranges say.")
  String outboundPorts = "";

  @Option(names = "--exclude-outbound-ports", paramLabel = "PORTS", description = "Destination ports never captured.")
  String excludeOutboundPorts = "";

  @Option(names = "--proxy-uid", paramLabel = "UID", split = ",", description = "Uid(s) whose traffic is never captured: the proxy's (default: 1337).")
  List<Integer> proxyUids = new ArrayList<>(List.of(CaptureConfig.DEFAULT_PROXY_ID));

  @Option(names = "--proxy-gid", paramLabel = "GID", split = ",", description = "Gid(s) whose traffic is never captured (default: 1337).")
  List<Integer> proxyGids = new ArrayList<>(List.of(CaptureConfig.DEFAULT_PROXY_ID));

  @Option(names = "--ipv6", paramLabel = "auto|on|off",
      description = "Program ip6tables too: auto = when the namespace has a global IPv6 address (default: ${DEFAULT-VALUE}).")
  Ipv6 ipv6 = Ipv6.AUTO;

  @Option(names = "--iptables", paramLabel = "legacy|nft", description = "Force a backend; default: the one that already holds rules.")
  Iptables.Backend backend;

  @Option(names = "--dry-run", description = "Print the iptables-restore input of each family and apply nothing.")
  boolean dryRun;

  @Option(names = "--cleanup", description = "Remove every vmesh rule, chain and policy route, and nothing else.")
  boolean cleanup;

  @Option(names = "--reconcile", description = "Replace vmesh rules that differ from the wanted ones (without it, a difference is an error).")
  boolean reconcile;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  private PrintWriter out;

  /** One family's plan: what is there, what is wanted. */
  private record Plan(Family family, Iptables iptables, RuleSet current, RuleSet wanted) {
    boolean unchanged() {
      return current.equals(wanted);
    }
  }

  @Override
  public Integer call() {
    out = spec.commandLine().getOut();
    CaptureConfig config = config();
    if (backend == Iptables.Backend.SYSTEM) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--iptables must be legacy or nft, got system");
    }
    try {
      if (cleanup) {
        return cleanup();
      }
      List<Family> families = families();
      if (dryRun) {
        for (Family f : families) {
          print("# iptables-restore --noflush (" + f.label() + ")\n" + CaptureRules.forFamily(config, f).restoreInput());
          if (config.mode() == Mode.TPROXY) {
            new PolicyRoute(f).addCommands().forEach(c -> print("# then: " + c + "\n"));
          }
          new PassthroughSource(f).addCommands().forEach(c -> print("# then: " + c + "\n"));
        }
        return 0;
      }
      return apply(config, families);
    } catch (IOException e) {
      return fail("vmesh capture: " + e.getMessage() + "\nnothing was changed");
    }
  }

  private CaptureConfig config() {
    try {
      return new CaptureConfig(mode, inboundPort, outboundPort,
          CaptureConfig.parsePortSelection("--inbound-ports", inboundPorts),
          CaptureConfig.parsePorts("--exclude-inbound-ports", excludeInboundPorts),
          CaptureConfig.parseRangeSelection("--outbound-ip-ranges", outboundRanges),
          CaptureConfig.parseRanges("--exclude-outbound-ip-ranges", excludeOutboundRanges),
          CaptureConfig.parsePorts("--outbound-ports", outboundPorts),
          CaptureConfig.parsePorts("--exclude-outbound-ports", excludeOutboundPorts),
          proxyUids, proxyGids);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "invalid capture options: " + e.getMessage());
    }
  }

  private List<Family> families() throws IOException {
    boolean v6 = switch (ipv6) {
      case ON -> true;
      case OFF -> false;
      case AUTO -> !Iptables.run(List.of("ip", "-6", "-o", "addr", "show", "scope", "global"), null).isBlank();
    };
    return v6 ? List.of(Family.IPV4, Family.IPV6) : List.of(Family.IPV4);
  }

  private Iptables.Backend resolvedBackend() {
    return backend != null ? backend : Iptables.detect();
  }

  private int apply(CaptureConfig config, List<Family> families) throws IOException {
    Iptables.Backend chosen = resolvedBackend();
    List<Plan> plans = new ArrayList<>();
    for (Family f : families) {
      Iptables iptables = Iptables.of(f, chosen);
      plans.add(new Plan(f, iptables, RuleSet.parse(iptables.save()), CaptureRules.forFamily(config, f)));
    }
    List<Plan> drifted = plans.stream().filter(p -> !p.current().isEmpty() && !p.unchanged()).toList();
    if (!drifted.isEmpty() && !reconcile) {
      StringBuilder msg = new StringBuilder("vmesh capture: different vmesh rules are already in this namespace; nothing changed. "
          + "Replace them with --reconcile, or remove them with --cleanup.");
      drifted.forEach(p -> msg.append(difference(p)));
      return fail(msg.toString());
    }
    for (Plan p : plans) {
      if (!p.unchanged()) {
        p.iptables().test(RuleSet.transition(p.current(), p.wanted()));
      }
    }
    List<Plan> applied = new ArrayList<>();
    try {
      for (Plan p : plans) {
        if (!p.unchanged()) {
          p.iptables().restoreNoFlush(RuleSet.transition(p.current(), p.wanted()));
          applied.add(p);
        }
      }
      if (config.mode() == Mode.TPROXY) {
        for (Plan p : plans) {
          new PolicyRoute(p.family()).ensure();
        }
      }
      for (Plan p : plans) {
        if (new PassthroughSource(p.family()).ensure()) {
          out.println("vmesh capture: " + p.family().label() + ": added " + p.family().passthroughSource() + " to lo (inbound passthrough source)");
        }
      }
    } catch (IOException e) {
      rollBack(applied, config.mode() == Mode.TPROXY ? plans : List.of());
      return fail("vmesh capture: " + e.getMessage() + "\nrolled back: the namespace's rules are as they were");
    }
    for (Plan p : plans) {
      String what = p.unchanged() ? "rules already in place, nothing changed"
          : p.current().isEmpty() ? "applied " + p.wanted().lines().size() + " rules"
          : "replaced drifted vmesh rules with " + p.wanted().lines().size() + " rules";
      out.println("vmesh capture: " + p.family().label() + ": " + what + " (" + summary(config) + ", iptables " + backendName(chosen) + ")");
    }
    out.flush();
    return 0;
  }

  /** What differs in one family, rule by rule, so the drift can be read without diffing by hand. */
  private static String difference(Plan p) {
    StringBuilder sb = new StringBuilder("\n  " + p.family().label() + ": present chains " + p.current().chains()
        + ", wanted chains " + p.wanted().chains());
    p.current().lines().stream().filter(l -> !p.wanted().lines().contains(l)).forEach(l -> sb.append("\n    present, not wanted: ").append(l));
    p.wanted().lines().stream().filter(l -> !p.current().lines().contains(l)).forEach(l -> sb.append("\n    wanted, not present: ").append(l));
    return sb.toString();
  }

  /** Puts back the rules each applied family had before; removes policy routes this run may have added. */
  private void rollBack(List<Plan> applied, List<Plan> routed) {
    PrintWriter err = spec.commandLine().getErr();
    for (Plan p : applied) {
      try {
        p.iptables().restoreNoFlush(RuleSet.transition(p.wanted(), p.current()));
      } catch (IOException e) {
        err.println("vmesh capture: rolling back " + p.family().label() + " failed too: " + e.getMessage());
      }
    }
    for (Plan p : routed) {
      if (p.current().isEmpty()) {
        try {
          new PolicyRoute(p.family()).remove();
        } catch (IOException e) {
          err.println("vmesh capture: removing the " + p.family().label() + " policy route failed: " + e.getMessage());
        }
      }
    }
  }

  private int cleanup() throws IOException {
    Iptables.Backend chosen = resolvedBackend();
    boolean any = false;
    for (Family f : Family.values()) {
      Iptables iptables = Iptables.of(f, chosen);
      String save;
      try {
        save = iptables.save();
      } catch (IOException e) {
        if (f == Family.IPV6) {
          continue; // no IPv6 netfilter in this namespace: no vmesh IPv6 rules either
        }
        throw e;
      }
      RuleSet current = RuleSet.parse(save);
      String input = RuleSet.transition(current, RuleSet.EMPTY);
      PolicyRoute route = new PolicyRoute(f);
      if (dryRun) {
        if (!input.isEmpty()) {
          print("# iptables-restore --noflush (" + f.label() + ")\n" + input);
          any = true;
        }
        continue;
      }
      if (!input.isEmpty()) {
        iptables.restoreNoFlush(input);
        out.println("vmesh capture: " + f.label() + ": removed vmesh chains " + current.chains());
        any = true;
      }
      if (route.remove()) {
        out.println("vmesh capture: " + f.label() + ": removed the TPROXY policy route (fwmark "
            + CaptureRules.TPROXY_MARK + ", table " + CaptureRules.TPROXY_ROUTE_TABLE + ")");
        any = true;
      }
      if (new PassthroughSource(f).remove()) {
        out.println("vmesh capture: " + f.label() + ": removed " + f.passthroughSource() + " from lo");
        any = true;
      }
    }
    if (!any) {
      out.println(dryRun ? "# nothing to remove" : "vmesh capture: no vmesh rules present, nothing removed");
    }
    out.flush();
    return 0;
  }

  private String summary(CaptureConfig c) {
    return c.mode() + ", inbound " + (c.inbound().all() ? "*" : c.inbound().only()) + " -> :" + c.inboundPort()
        + ", outbound " + (c.outboundRanges().all() ? "*" : c.outboundRanges().only().stream().map(Cidr::text).toList())
        + " -> :" + c.outboundPort();
  }

  private static String backendName(Iptables.Backend b) {
    return b == Iptables.Backend.SYSTEM ? "default" : b.name().toLowerCase(java.util.Locale.ROOT);
  }

  private void print(String text) {
    out.print(text);
    out.flush();
  }

  private int fail(String message) {
    PrintWriter err = spec.commandLine().getErr();
    err.println(message);
    err.flush();
    return 1;
  }
}
