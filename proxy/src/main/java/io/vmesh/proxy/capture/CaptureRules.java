package io.vmesh.proxy.capture;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The iptables rules of one address family, as {@code iptables-restore} input. Every rule is written
 * in the exact form {@code iptables-save} prints it, so the rules already in a namespace can be
 * compared with the wanted ones line by line.
 */
public final class CaptureRules {

  public static final String OUTPUT_CHAIN = "VMESH_OUTPUT";
  static final String CHAIN_PREFIX = "VMESH_";

  private final List<String> chains;
  private final List<String> jumps;
  private final List<String> rules;

  private CaptureRules(List<String> chains, List<String> jumps, List<String> rules) {
    this.chains = List.copyOf(chains);
    this.jumps = List.copyOf(jumps);
    this.rules = List.copyOf(rules);
  }

  /** The IPv4 nat rules for {@code config}, in the order Istio uses (REFERENCE.md section 1). */
  public static CaptureRules ipv4(CaptureConfig config) {
    List<String> rules = new ArrayList<>();
    String out = "-A " + OUTPUT_CHAIN + " ";
    for (int uid : config.proxyUids()) {
      rules.add(out + "-m owner --uid-owner " + uid + comment("proxy uid " + uid + ": its own traffic is never captured") + " -j RETURN");
    }
    for (int gid : config.proxyGids()) {
      rules.add(out + "-m owner --gid-owner " + gid + comment("proxy gid " + gid + ": its own traffic is never captured") + " -j RETURN");
    }
    rules.add(out + "-d 127.0.0.1/32" + comment("loopback destination is not captured") + " -j RETURN");
    rules.add(out + "-o lo" + comment("traffic to the pod itself stays local") + " -j RETURN");
    rules.add(out + "-p tcp" + comment("all other outbound TCP goes to the proxy virtualOutbound") + " -j REDIRECT --to-ports " + config.outboundPort());
    List<String> jumps = List.of("-A OUTPUT -p tcp" + comment("outbound TCP enters vmesh") + " -j " + OUTPUT_CHAIN);
    return new CaptureRules(List.of(OUTPUT_CHAIN), jumps, rules);
  }

  private static String comment(String text) {
    // iptables-save escapes quotes and backslashes; without them our lines equal what it prints
    if (text.matches(".*['\"\\\\].*")) {
      throw new IllegalArgumentException("rule comment must not contain quotes or backslashes: " + text);
    }
    return " -m comment --comment \"vmesh: " + text + "\"";
  }

  /** Input for {@code iptables-restore --noflush}: declares (and so empties) the vmesh chains, then fills them. */
  public String restoreInput() {
    StringBuilder sb = new StringBuilder("*nat\n");
    chains.forEach(c -> sb.append(':').append(c).append(" - [0:0]\n"));
    jumps.forEach(j -> sb.append(j).append('\n'));
    rules.forEach(r -> sb.append(r).append('\n'));
    return sb.append("COMMIT\n").toString();
  }

  /** Every rule line this rule set owns, jumps first, as {@code iptables-save} prints them. */
  public List<String> lines() {
    return Stream.concat(jumps.stream(), rules.stream()).toList();
  }

  public List<String> chains() {
    return chains;
  }

  /** The lines of an {@code iptables-save} nat table that belong to vmesh: its chains' rules and the jumps into them. */
  public static List<String> ownedLines(String iptablesSave) {
    List<String> owned = new ArrayList<>();
    boolean inNat = false;
    for (String line : iptablesSave.split("\n")) {
      if (line.startsWith("*")) {
        inNat = line.equals("*nat");
      } else if (inNat && line.startsWith("-A ") && isVmeshLine(line)) {
        owned.add(line);
      }
    }
    return owned;
  }

  private static boolean isVmeshLine(String line) {
    return line.startsWith("-A " + CHAIN_PREFIX) || line.contains(" -j " + CHAIN_PREFIX);
  }
}
