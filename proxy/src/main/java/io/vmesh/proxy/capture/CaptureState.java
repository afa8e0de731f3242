package io.vmesh.proxy.capture;

import java.util.ArrayList;
import java.util.List;

/** The vmesh part of a namespace's nat table, read from {@code iptables-save}. */
record CaptureState(List<String> chains, List<String> ownedLines) {

  static CaptureState of(String iptablesSave) {
    List<String> chains = new ArrayList<>();
    boolean inNat = false;
    for (String line : iptablesSave.split("\n")) {
      if (line.startsWith("*")) {
        inNat = line.equals("*nat");
      } else if (inNat && line.startsWith(":" + CaptureRules.CHAIN_PREFIX)) {
        chains.add(line.substring(1, line.indexOf(' ')));
      }
    }
    return new CaptureState(List.copyOf(chains), CaptureRules.ownedLines(iptablesSave));
  }

  /** Restore input that deletes the jumps into vmesh chains, then empties and deletes the chains. */
  String cleanupInput() {
    if (chains.isEmpty() && ownedLines.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder("*nat\n");
    ownedLines.stream()
        .filter(l -> !l.startsWith("-A " + CaptureRules.CHAIN_PREFIX))
        .forEach(l -> sb.append("-D").append(l.substring(2)).append('\n'));
    chains.forEach(c -> sb.append("-F ").append(c).append('\n'));
    chains.forEach(c -> sb.append("-X ").append(c).append('\n'));
    return sb.append("COMMIT\n").toString();
  }
}
