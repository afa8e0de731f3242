package io.vmesh.sandbox.topology;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A pod: its own network namespace with an IPv4 address on the node's bridge, and an IPv6 one if dual-stack. */
public final class Pod {

  private final Topology topology;
  private final String name;
  private final String netns;
  private final String ip;
  private final String ip6;

  Pod(Topology topology, String name, String netns, String ip, String ip6) {
    this.topology = topology;
    this.name = name;
    this.netns = netns;
    this.ip = ip;
    this.ip6 = ip6;
  }

  public String name() {
    return name;
  }

  /** The network namespace's name, as {@code ip netns list} shows it. */
  public String netns() {
    return netns;
  }

  public String ip() {
    return ip;
  }

  /** The IPv6 address of a dual-stack pod. */
  public String ip6() {
    if (ip6 == null) {
      throw new IllegalStateException("pod " + name + " is IPv4 only; make it with Topology.addDualStackPod");
    }
    return ip6;
  }

  /** Starts a long-running process in the pod; the topology stops it when it closes. */
  public PodProcess start(String processName, RunAs runAs, List<String> command) {
    return start(processName, runAs, null, command);
  }

  /**
   * Starts a long-running process in the pod with exactly {@code env} as its environment (as a container gets
   * only what its spec says), or the caller's environment when {@code env} is null.
   */
  public PodProcess start(String processName, RunAs runAs, java.util.Map<String, String> env, List<String> command) {
    try {
      ProcessBuilder b = new ProcessBuilder(inPod(runAs, command))
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      if (env != null) {
        b.environment().clear();
        b.environment().putAll(env);
      }
      Process p = b.start();
      return topology.track(new PodProcess(name + "/" + processName, p));
    } catch (IOException e) {
      throw new SandboxException("cannot start " + processName + " in pod " + name + ": " + e.getMessage(), e);
    }
  }

  /** Runs a command in the pod to completion. */
  public SystemCommand.Result run(RunAs runAs, Duration timeout, List<String> command) {
    return SystemCommand.run(inPod(runAs, command), timeout);
  }

  /** Runs a command in the pod to completion with exactly {@code env} as its environment. */
  public SystemCommand.Result run(RunAs runAs, java.util.Map<String, String> env, Duration timeout, List<String> command) {
    return SystemCommand.run(inPod(runAs, command), env, timeout);
  }

  /** The command line that runs {@code command} in this pod as {@code runAs} (for callers that manage the process). */
  public List<String> commandLine(RunAs runAs, List<String> command) {
    return inPod(runAs, command);
  }

  private List<String> inPod(RunAs runAs, List<String> command) {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", netns));
    full.addAll(runAs.switchCommand());
    full.addAll(command);
    return full;
  }

  @Override
  public String toString() {
    return name + " (" + ip + ", netns " + netns + ")";
  }
}
