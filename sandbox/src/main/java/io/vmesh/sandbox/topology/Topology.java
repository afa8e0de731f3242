package io.vmesh.sandbox.topology;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A closed network of pods on one machine: a "node" namespace holding a bridge, and one namespace per
 * pod joined to it by a veth pair. Nothing is ever attached to the machine's own namespace. Every
 * namespace, link, process and file it makes is removed on {@link #close()}; what a crashed earlier
 * run left behind (its owner pid is gone) is removed before a new one starts.
 */
public final class Topology implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Topology.class);
  static final String PREFIX = "vmesh-";
  /** {@code vmesh-<owner pid>-<instance>-<pod>}: the owner pid tells a dead run's leftovers from a live one's. */
  private static final Pattern OWNED = Pattern.compile("^" + PREFIX + "(\\d+)-\\d+-[a-z0-9-]+$");
  private static final Pattern OWNED_DIR = Pattern.compile("^" + PREFIX + "(\\d+)-\\d+$");
  private static final java.util.concurrent.atomic.AtomicInteger INSTANCES = new java.util.concurrent.atomic.AtomicInteger();
  private static final Pattern POD_NAME = Pattern.compile("^[a-z][a-z0-9-]{0,30}$");
  /** The pods' subnet: closed, it exists only on the sandbox's bridge. */
  public static final String SUBNET_PREFIX = "10.88.0.";
  public static final String GATEWAY = SUBNET_PREFIX + "1";
  /** The pods' IPv6 subnet (unique local, closed like the IPv4 one); only dual-stack pods get an address in it. */
  public static final String SUBNET6_PREFIX = "fd88::";
  public static final String GATEWAY6 = SUBNET6_PREFIX + "1";

  private final String owner;
  private final String nodeNetns;
  private final Path workDir;
  /** False when attached to a node another process made: then only this one's pods are its to remove. */
  private final boolean ownsNode;
  private final List<Pod> pods = new ArrayList<>();
  private final List<PodProcess> processes = new ArrayList<>();
  private final Thread shutdownHook = new Thread(this::close, "vmesh-sandbox-cleanup");
  private boolean closed;

  private Topology() {
    this.owner = ProcessHandle.current().pid() + "-" + INSTANCES.incrementAndGet();
    this.nodeNetns = PREFIX + owner + "-node";
    this.workDir = Path.of("/tmp", PREFIX + owner);
    this.ownsNode = true;
  }

  private Topology(String nodeNetns, Path workDir) {
    if (!nodeNetns.startsWith(PREFIX) || !nodeNetns.endsWith("-node")) {
      throw new IllegalArgumentException("not a sandbox node namespace (vmesh-<pid>-<n>-node): " + nodeNetns);
    }
    this.owner = nodeNetns.substring(PREFIX.length(), nodeNetns.length() - "-node".length());
    this.nodeNetns = nodeNetns;
    this.workDir = workDir;
    this.ownsNode = false;
  }

  /**
   * Joins the node namespace another process (the harness) made, to add and remove pods on its bridge; the pods
   * carry the node's prefix, so the harness's own clean-up removes them too if this process dies first. The
   * caller closes it (after stopping its pods' processes the graceful way).
   */
  public static Topology attach(String nodeNetns, Path workDir) {
    return new Topology(nodeNetns, workDir);
  }

  /** Cleans what dead runs left, then makes the node namespace and its bridge. */
  public static Topology create() {
    removeStale();
    Topology t = new Topology();
    Runtime.getRuntime().addShutdownHook(t.shutdownHook);
    try {
      SystemCommand.check("ip", "netns", "add", t.nodeNetns);
      t.ipIn(t.nodeNetns, "link", "set", "lo", "up");
      t.ipIn(t.nodeNetns, "link", "add", "br0", "type", "bridge");
      t.ipIn(t.nodeNetns, "addr", "add", GATEWAY + "/24", "dev", "br0");
      // nodad: duplicate address detection would hold the address "tentative" for a second or more
      t.ipIn(t.nodeNetns, "addr", "add", GATEWAY6 + "/64", "dev", "br0", "nodad");
      t.ipIn(t.nodeNetns, "link", "set", "br0", "up");
      Files.createDirectories(t.workDir);
      Files.setPosixFilePermissions(t.workDir, PosixFilePermissions.fromString("rwxr-xr-x"));
      return t;
    } catch (RuntimeException | IOException e) {
      t.close();
      throw e instanceof RuntimeException r ? r : new UncheckedIOException((IOException) e);
    }
  }

  /** Adds a pod with the next free IPv4 address on the bridge. */
  public Pod addPod(String name) {
    return addPod(name, false);
  }

  /** Adds a pod with the next free IPv4 address and the matching IPv6 address ({@code fd88::<same host number>}). */
  public Pod addDualStackPod(String name) {
    return addPod(name, true);
  }

  private synchronized Pod addPod(String name, boolean dualStack) {
    if (!POD_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("pod name must be lower-case letters, digits and '-', starting with a letter: " + name);
    }
    if (closed) {
      throw new SandboxException("the topology is closed; no pod " + name + " can be added");
    }
    int index = freeHostIndex();
    String netns = PREFIX + owner + "-" + name;
    String ip = SUBNET_PREFIX + (10 + index);
    String hostSide = "veth" + index;
    SystemCommand.check("ip", "netns", "add", netns);
    String ip6 = dualStack ? SUBNET6_PREFIX + (10 + index) : null;
    Pod pod = new Pod(this, name, netns, ip, ip6);
    pods.add(pod);
    SystemCommand.check("ip", "link", "add", "eth0", "netns", netns, "type", "veth", "peer", "name", hostSide, "netns", nodeNetns);
    ipIn(nodeNetns, "link", "set", hostSide, "master", "br0");
    // a pod reaching its own Service is DNATed back out the port it came in on: the bridge must allow that
    ipIn(nodeNetns, "link", "set", hostSide, "type", "bridge_slave", "hairpin", "on");
    ipIn(nodeNetns, "link", "set", hostSide, "up");
    ipIn(netns, "link", "set", "lo", "up");
    ipIn(netns, "addr", "add", ip + "/24", "dev", "eth0");
    ipIn(netns, "link", "set", "eth0", "up");
    ipIn(netns, "route", "add", "default", "via", GATEWAY);
    if (dualStack) {
      ipIn(netns, "addr", "add", ip6 + "/64", "dev", "eth0", "nodad");
      ipIn(netns, "-6", "route", "add", "default", "via", GATEWAY6);
    }
    return pod;
  }

  /** The "outside world": a subnet of its own (TEST-NET-1), routed by the node, not part of the mesh. */
  public static final String EXTERNAL_GATEWAY = "192.0.2.1";
  public static final String EXTERNAL_IP = "192.0.2.10";

  /**
   * Adds a host outside the pods' network: its own namespace on a second link of the node
   * ({@code ext0} {@value #EXTERNAL_GATEWAY}/24 ↔ {@code eth0} {@value #EXTERNAL_IP}/24), reached from pods
   * through the node's routing, as a server on the internet would be. One per topology.
   */
  public synchronized Pod addExternalHost(String name) {
    if (!POD_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("host name must be lower-case letters, digits and '-', starting with a letter: " + name);
    }
    String netns = PREFIX + owner + "-" + name;
    SystemCommand.check("ip", "netns", "add", netns);
    Pod host = new Pod(this, name, netns, EXTERNAL_IP, null);
    pods.add(host);
    SystemCommand.check("ip", "link", "add", "eth0", "netns", netns, "type", "veth", "peer", "name", "ext0", "netns", nodeNetns);
    ipIn(nodeNetns, "addr", "add", EXTERNAL_GATEWAY + "/24", "dev", "ext0");
    ipIn(nodeNetns, "link", "set", "ext0", "up");
    ipIn(netns, "link", "set", "lo", "up");
    ipIn(netns, "addr", "add", EXTERNAL_IP + "/24", "dev", "eth0");
    ipIn(netns, "link", "set", "eth0", "up");
    ipIn(netns, "route", "add", "default", "via", EXTERNAL_GATEWAY);
    return host;
  }

  /** The lowest host number no live pod holds, so that addresses of removed pods are used again. */
  private int freeHostIndex() {
    java.util.Set<String> used = new java.util.HashSet<>();
    pods.forEach(p -> used.add(p.ip()));
    for (int i = 0; i < 240; i++) {
      if (!used.contains(SUBNET_PREFIX + (10 + i))) {
        return i;
      }
    }
    throw new SandboxException("no free address left in " + SUBNET_PREFIX + "0/24");
  }

  /** Removes a pod: kills what runs in it, deletes its namespace (its veth goes with it) and its /etc/netns files. */
  public void removePod(Pod pod) {
    synchronized (this) {
      if (!pods.remove(pod)) {
        return;
      }
    }
    removeNetns(pod.netns());
  }

  public synchronized List<Pod> pods() {
    return List.copyOf(pods);
  }

  /**
   * Starts a long-running process in the node namespace (the control plane); stopped on close, like pods'
   * processes. What it prints also goes to {@code <workDir>/logs/<name>.log}.
   */
  public PodProcess startInNode(String processName, java.util.Map<String, String> env, List<String> command) {
    List<String> full = inNode(command);
    try {
      ProcessBuilder b = new ProcessBuilder(full).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      b.environment().putAll(env);
      Path logs = Files.createDirectories(workDir.resolve("logs"));
      return track(new PodProcess("node/" + processName, b.start(), logs.resolve(processName + ".log")));
    } catch (IOException e) {
      throw new SandboxException("cannot start " + processName + " in the node namespace: " + e.getMessage(), e);
    }
  }

  /** Runs a command in the node namespace to completion. */
  public SystemCommand.Result runInNode(java.time.Duration timeout, List<String> command) {
    return SystemCommand.run(inNode(command), timeout);
  }

  /**
   * Joins the node's network namespace only ({@code nsenter --net}), not a mount namespace of its own as
   * {@code ip netns exec} would: namespaces a node process adds with {@code ip netns add} are then mounted where
   * everyone sees them, not only inside that process.
   */
  private List<String> inNode(List<String> command) {
    List<String> full = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + nodeNetns, "--"));
    full.addAll(command);
    return full;
  }

  public String nodeNetns() {
    return nodeNetns;
  }

  /** The prefix of every namespace name of this topology. */
  public String netnsPrefix() {
    return PREFIX + owner + "-";
  }

  /** The folder of staged files; removed on close. */
  public Path workDir() {
    return workDir;
  }

  /**
   * Copies a file (a jar) to a folder every uid can read, since the pods' processes run as other
   * users and may not reach the checkout (for example under a mode-700 home).
   */
  public Path stage(Path file) {
    try {
      Path bin = Files.createDirectories(workDir.resolve("bin"));
      Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path target = bin.resolve(file.getFileName());
      Files.copy(file, target, StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
      return target;
    } catch (IOException e) {
      throw new SandboxException("cannot stage " + file + " in " + workDir + ": " + e.getMessage(), e);
    }
  }

  synchronized PodProcess track(PodProcess process) {
    processes.add(process);
    return process;
  }

  /** Stops every process, then removes every namespace (their links go with them) and the work folder. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException | IllegalArgumentException e) {
      // already shutting down (this is the hook), or attached without one
    }
    for (int i = processes.size() - 1; i >= 0; i--) {
      long start = System.nanoTime();
      processes.get(i).close();
      LOG.debug("{} stopped in {} ms", processes.get(i).name(), (System.nanoTime() - start) / 1_000_000);
    }
    for (Pod pod : pods) {
      removeNetns(pod.netns());
    }
    if (!ownsNode) {
      return;
    }
    // pods another process added to this node (the node agent) carry this prefix too; it may have died first
    String list = SystemCommand.run(List.of("ip", "netns", "list"), java.time.Duration.ofSeconds(10)).stdout();
    for (String line : list.split("\n")) {
      String name = line.split(" ")[0].strip();
      if (name.startsWith(netnsPrefix()) && !name.equals(nodeNetns)) {
        removeNetns(name);
      }
    }
    removeNetns(nodeNetns);
    // a hosts file written for a pod whose namespace was already gone (the node agent stopping mid-change)
    if (Files.isDirectory(ETC_NETNS)) {
      try (Stream<Path> etc = Files.list(ETC_NETNS)) {
        etc.filter(d -> d.getFileName().toString().startsWith(netnsPrefix())).forEach(Topology::deleteTree);
      } catch (IOException e) {
        LOG.warn("cannot list {}: {}", ETC_NETNS, e.toString());
      }
    }
    deleteTree(workDir);
  }

  /** Removes namespaces and work folders whose owning process no longer runs. */
  public static void removeStale() {
    String list = SystemCommand.check("ip", "netns", "list").stdout();
    for (String line : list.split("\n")) {
      String name = line.split(" ")[0].strip();
      Matcher m = OWNED.matcher(name);
      if (m.matches() && !isAlive(Long.parseLong(m.group(1)))) {
        LOG.info("removing network namespace {} left by an earlier run (pid {} is gone)", name, m.group(1));
        removeNetns(name);
      }
    }
    try (Stream<Path> dirs = Files.list(Path.of("/tmp"))) {
      dirs.forEach(d -> {
        Matcher m = OWNED_DIR.matcher(d.getFileName().toString());
        if (m.matches() && !isAlive(Long.parseLong(m.group(1)))) {
          deleteTree(d);
        }
      });
    } catch (IOException e) {
      LOG.warn("cannot list /tmp for stale sandbox folders: {}", e.toString());
    }
  }

  private static boolean isAlive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /** Kills whatever still runs in the namespace, then deletes it. */
  private static void removeNetns(String netns) {
    SystemCommand.Result pids = SystemCommand.run(List.of("ip", "netns", "pids", netns), java.time.Duration.ofSeconds(10));
    if (pids.ok()) {
      for (String pid : pids.stdout().split("\\s+")) {
        if (!pid.isBlank()) {
          ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
        }
      }
    }
    SystemCommand.Result del = SystemCommand.run(List.of("ip", "netns", "del", netns), java.time.Duration.ofSeconds(10));
    if (!del.ok() && !del.stderr().contains("No such file")) {
      LOG.warn("could not delete network namespace {}: {}", netns, del.stderr().strip());
    }
    // the files `ip netns exec` bind-mounts over /etc (hosts, resolv.conf) for this namespace
    deleteTree(ETC_NETNS.resolve(netns));
  }

  /** Where {@code ip netns exec} finds a namespace's own hosts and resolv.conf. */
  public static final Path ETC_NETNS = Path.of("/etc/netns");

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.warn("could not delete {}: {}", dir, e.toString());
    }
  }

  private void ipIn(String netns, String... args) {
    List<String> cmd = new ArrayList<>(List.of("ip", "-n", netns));
    cmd.addAll(List.of(args));
    SystemCommand.run(cmd, java.time.Duration.ofSeconds(10)).orThrow();
  }
}
