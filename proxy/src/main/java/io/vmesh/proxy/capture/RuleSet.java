package io.vmesh.proxy.capture;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * vmesh's rules of one address family: per table, its {@code VMESH_*} chains and rule lines, and its
 * jumps in built-in chains. Lines are kept in the form and the order {@code iptables-save} prints them
 * (built-in chains first, then chains by name; rules in chain order), so the rules wanted and the rules
 * found compare with {@code equals}.
 */
public final class RuleSet {

  static final String CHAIN_PREFIX = "VMESH_";
  private static final List<String> TABLE_ORDER = List.of("raw", "mangle", "nat", "filter", "security");
  private static final List<String> BUILT_IN_ORDER = List.of("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING");
  private static final Comparator<String> TABLES = Comparator.comparingInt(RuleSet::tableRank).thenComparing(Comparator.naturalOrder());
  private static final Comparator<String> CHAINS = Comparator.comparingInt(RuleSet::chainRank).thenComparing(Comparator.naturalOrder());

  public static final RuleSet EMPTY = new RuleSet(Map.of());

  /** table → chain → lines; vmesh chains are present even when empty, built-in chains only with vmesh lines. */
  private final Map<String, Map<String, List<String>>> tables;

  private RuleSet(Map<String, Map<String, List<String>>> tables) {
    Map<String, Map<String, List<String>>> copy = new TreeMap<>(TABLES);
    tables.forEach((table, chains) -> {
      if (!chains.isEmpty()) {
        Map<String, List<String>> c = new TreeMap<>(CHAINS);
        chains.forEach((chain, lines) -> c.put(chain, List.copyOf(lines)));
        copy.put(table, Collections.unmodifiableMap(c));
      }
    });
    this.tables = Collections.unmodifiableMap(copy);
  }

  /** The vmesh part of an {@code iptables-save} dump: VMESH_* chains, their rules and the jumps into them, in every table. */
  public static RuleSet parse(String iptablesSave) {
    Builder b = new Builder();
    String table = null;
    for (String line : iptablesSave.split("\n")) {
      if (line.startsWith("*")) {
        table = line.substring(1).strip();
      } else if (table != null && line.startsWith(":" + CHAIN_PREFIX)) {
        b.declare(table, line.substring(1, line.indexOf(' ')));
      } else if (table != null && line.startsWith("-A ") && isVmeshLine(line)) {
        b.add(table, line);
      }
    }
    return b.build();
  }

  private static boolean isVmeshLine(String line) {
    return line.startsWith("-A " + CHAIN_PREFIX) || line.contains(" -j " + CHAIN_PREFIX) || line.contains(" -g " + CHAIN_PREFIX);
  }

  public boolean isEmpty() {
    return tables.isEmpty();
  }

  /** Every rule line, table by table, as {@code iptables-save} orders them. */
  public List<String> lines() {
    List<String> all = new ArrayList<>();
    tables.values().forEach(chains -> chains.values().forEach(all::addAll));
    return all;
  }

  /** {@code table: chain, chain} for messages. */
  public List<String> chains() {
    List<String> all = new ArrayList<>();
    tables.forEach((table, chains) -> chains.keySet().stream().filter(RuleSet::isVmeshChain).forEach(c -> all.add(table + "/" + c)));
    return all;
  }

  /** Input for {@code iptables-restore --noflush} that writes this rule set into a namespace holding none of it. */
  public String restoreInput() {
    return transition(EMPTY, this);
  }

  /**
   * Input for one {@code iptables-restore --noflush} transaction that turns the vmesh rules {@code from}
   * into {@code to}, touching nothing else: re-declaring a chain empties it, old jumps are deleted, chains
   * no longer wanted are emptied and then deleted, and the wanted rules are appended. Empty when equal.
   */
  public static String transition(RuleSet from, RuleSet to) {
    if (from.equals(to)) {
      return "";
    }
    SortedSet<String> tableNames = new TreeSet<>(TABLES);
    tableNames.addAll(from.tables.keySet());
    tableNames.addAll(to.tables.keySet());
    StringBuilder sb = new StringBuilder();
    for (String table : tableNames) {
      Map<String, List<String>> old = from.tables.getOrDefault(table, Map.of());
      Map<String, List<String>> want = to.tables.getOrDefault(table, Map.of());
      sb.append('*').append(table).append('\n');
      want.keySet().stream().filter(RuleSet::isVmeshChain).forEach(c -> sb.append(':').append(c).append(" - [0:0]\n"));
      old.forEach((chain, lines) -> {
        if (!isVmeshChain(chain)) {
          lines.forEach(l -> sb.append("-D").append(l.substring(2)).append('\n'));
        }
      });
      List<String> obsolete = old.keySet().stream().filter(c -> isVmeshChain(c) && !want.containsKey(c)).toList();
      obsolete.forEach(c -> sb.append("-F ").append(c).append('\n'));
      obsolete.forEach(c -> sb.append("-X ").append(c).append('\n'));
      want.values().forEach(lines -> lines.forEach(l -> sb.append(l).append('\n')));
      sb.append("COMMIT\n");
    }
    return sb.toString();
  }

  static boolean isVmeshChain(String chain) {
    return chain.startsWith(CHAIN_PREFIX);
  }

  private static int tableRank(String table) {
    int i = TABLE_ORDER.indexOf(table);
    return i < 0 ? TABLE_ORDER.size() : i;
  }

  private static int chainRank(String chain) {
    int i = BUILT_IN_ORDER.indexOf(chain);
    return i >= 0 ? i : isVmeshChain(chain) ? BUILT_IN_ORDER.size() + 1 : BUILT_IN_ORDER.size();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RuleSet r && r.tables.equals(tables);
  }

  @Override
  public int hashCode() {
    return tables.hashCode();
  }

  @Override
  public String toString() {
    return tables.toString();
  }

  /** Collects chains and lines in any order; {@link #build()} puts them in iptables-save's. */
  public static final class Builder {
    private final Map<String, Map<String, List<String>>> tables = new LinkedHashMap<>();

    public Builder declare(String table, String chain) {
      tables.computeIfAbsent(table, t -> new LinkedHashMap<>()).computeIfAbsent(chain, c -> new ArrayList<>());
      return this;
    }

    /** Adds {@code -A CHAIN ...} to {@code table}. */
    public Builder add(String table, String line) {
      if (!line.startsWith("-A ")) {
        throw new IllegalArgumentException("not an append rule: " + line);
      }
      String chain = line.substring(3, line.indexOf(' ', 3));
      declare(table, chain);
      tables.get(table).get(chain).add(line);
      return this;
    }

    public RuleSet build() {
      return new RuleSet(tables);
    }
  }
}
