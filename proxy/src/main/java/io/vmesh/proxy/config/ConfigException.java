package io.vmesh.proxy.config;

import java.util.List;

/**
 * A configuration the proxy refuses, with every problem found, each naming the field path it is
 * about (for instance {@code static_resources.listeners[0].filter_chains[1].filter_chain_match}).
 */
public final class ConfigException extends Exception {

  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(String.join("\n", problems));
    if (problems.isEmpty()) {
      throw new IllegalArgumentException("a ConfigException needs at least one problem");
    }
    this.problems = List.copyOf(problems);
  }

  public ConfigException(String fieldPath, String problem) {
    this(List.of(at(fieldPath, problem)));
  }

  /** One problem as it is printed: the field path, a colon, what is wrong with it. */
  public static String at(String fieldPath, String problem) {
    return (fieldPath.isEmpty() ? "(root)" : fieldPath) + ": " + problem;
  }

  public List<String> problems() {
    return problems;
  }
}
