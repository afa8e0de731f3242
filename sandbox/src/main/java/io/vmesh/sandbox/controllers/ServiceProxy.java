package io.vmesh.sandbox.controllers;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vmesh.sandbox.kubelet.PodNetwork;
import io.vmesh.sandbox.topology.SandboxException;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * kube-proxy's iptables mode and the cluster DNS, for the node namespace this process runs in. Each Service
 * ClusterIP:port is DNATed to one of its ready endpoints, picked at random with equal odds (the
 * {@code statistic} match, as kube-proxy does); a port without ready endpoints is rejected at once. A pod that
 * reaches itself through its Service is masqueraded (the hairpin case). Pods on the same bridge see each other's
 * replies un-NATed because bridged traffic passes the node's netfilter ({@code bridge-nf-call-iptables}).
 *
 * <p>Names: every pod namespace gets {@code /etc/netns/<netns>/hosts} (bind-mounted over {@code /etc/hosts} by
 * {@code ip netns exec}) naming each Service's ClusterIP as {@code name.ns.svc.cluster.local},
 * {@code name.ns.svc}, {@code name.ns}, and as {@code name} in the pod's own namespace, plus a resolv.conf with
 * the cluster search path. The file is rewritten in place, so processes already running see new Services.
 *
 * <p>Dual stack: IPv6 ClusterIPs get the same rules through ip6tables, DNATed to the Service's {@code IPv6}
 * EndpointSlices; a dual-stack Service has a hosts line per address, and a gai.conf ranks IPv4 first.
 */
public final class ServiceProxy implements PodNetwork {

  private static final Logger LOG = LoggerFactory.getLogger(ServiceProxy.class);

  private final KubernetesClient client;
  private final Map<String, PodEntry> pods = new LinkedHashMap<>();
  private String appliedRules = "";
  private String appliedRules6 = "";
  private List<Service> services = List.of();

  private record PodEntry(io.vmesh.sandbox.topology.Pod netns, String namespace, String name) {
  }

  public ServiceProxy(KubernetesClient client) {
    this.client = client;
  }

  /** Turns on forwarding in the node namespace (pods reach Services and each other through it). */
  public void prepareNode() {
    SystemCommand.check("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    // IPv6 ClusterIPs are DNATed here too, then forwarded to the pod
    SystemCommand.check("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
    SystemCommand.Result bridge = SystemCommand.run(List.of("sysctl", "-n", "net.bridge.bridge-nf-call-iptables"),
        java.time.Duration.ofSeconds(5));
    if (!bridge.ok() || !bridge.stdout().strip().equals("1")) {
      throw new SandboxException("net.bridge.bridge-nf-call-iptables is not 1 in the node namespace (" + bridge.stdout().strip()
          + bridge.stderr().strip() + "): load br_netfilter (modprobe br_netfilter), or Service traffic between pods cannot be un-NATed");
    }
    SystemCommand.Result bridge6 = SystemCommand.run(List.of("sysctl", "-n", "net.bridge.bridge-nf-call-ip6tables"),
        java.time.Duration.ofSeconds(5));
    if (!bridge6.ok() || !bridge6.stdout().strip().equals("1")) {
      throw new SandboxException("net.bridge.bridge-nf-call-ip6tables is not 1 in the node namespace (" + bridge6.stdout().strip()
          + bridge6.stderr().strip() + "): IPv6 Service traffic between pods cannot be un-NATed");
    }
  }

  public void sync() {
    List<Service> svcs = client.services().inAnyNamespace().list().getItems();
    List<EndpointSlice> slices = client.discovery().v1().endpointSlices().inAnyNamespace().list().getItems();
    String rules = rules(svcs, slices, "IPv4");
    String rules6 = rules(svcs, slices, "IPv6");
    if (!rules.equals(appliedRules)) {
      restore("iptables-restore", rules);
      appliedRules = rules;
      LOG.info("service rules applied: {} IPv4 service ports", rules.lines().filter(l -> l.startsWith("-A VMESH-SERVICES")).count());
    }
    if (!rules6.equals(appliedRules6)) {
      restore("ip6tables-restore", rules6);
      appliedRules6 = rules6;
      LOG.info("service rules applied: {} IPv6 service ports", rules6.lines().filter(l -> l.startsWith("-A VMESH-SERVICES")).count());
    }
    synchronized (this) {
      boolean changed = !svcs.stream().map(this::hostsKey).toList().equals(services.stream().map(this::hostsKey).toList());
      services = svcs;
      if (changed) {
        pods.values().forEach(this::writeFiles);
      }
    }
  }

  /** The rules go on standard input: a file for them could outlive a node agent stopped in between. */
  private static void restore(String command, String rules) {
    SystemCommand.runWithInput(List.of(command), rules, Duration.ofSeconds(30)).orThrow();
  }

  private String hostsKey(Service s) {
    return s.getMetadata().getNamespace() + "/" + s.getMetadata().getName() + "=" + clusterIps(s);
  }

  /** The Service's cluster IPs, primary first ({@code spec.clusterIPs}, else {@code spec.clusterIP}); none when headless. */
  static List<String> clusterIps(Service s) {
    List<String> ips = s.getSpec().getClusterIPs() == null || s.getSpec().getClusterIPs().isEmpty()
        ? (s.getSpec().getClusterIP() == null ? List.of() : List.of(s.getSpec().getClusterIP())) : s.getSpec().getClusterIPs();
    return ips.stream().filter(ip -> ip != null && !ip.isEmpty() && !ip.equals("None")).toList();
  }

  /** The Service's cluster IP of {@code family}, or null. */
  private static String clusterIp(Service s, String family) {
    return clusterIps(s).stream().filter(ip -> ip.contains(":") == family.equals("IPv6")).findFirst().orElse(null);
  }

  /**
   * The nat and filter tables of the node namespace for one family, whole (iptables-restore or ip6tables-restore
   * replaces what was there): the same rules for both, on the Service's address of that family.
   */
  static String rules(List<Service> services, List<EndpointSlice> slices, String family) {
    boolean v6 = family.equals("IPv6");
    String host = v6 ? "/128" : "/32";
    StringBuilder chains = new StringBuilder();
    StringBuilder nat = new StringBuilder();
    StringBuilder reject = new StringBuilder();
    List<Service> sorted = new ArrayList<>(services);
    sorted.sort(Comparator.comparing((Service s) -> s.getMetadata().getNamespace()).thenComparing(s -> s.getMetadata().getName()));
    for (Service s : sorted) {
      String ip = clusterIp(s, family);
      if (ip == null || s.getSpec().getPorts() == null) {
        continue;
      }
      for (ServicePort sp : s.getSpec().getPorts()) {
        String protocol = sp.getProtocol() == null ? "TCP" : sp.getProtocol();
        if (!protocol.equals("TCP") && !protocol.equals("UDP")) {
          continue;
        }
        String p = protocol.toLowerCase(java.util.Locale.ROOT);
        String portName = sp.getName() == null ? "" : sp.getName();
        String comment = s.getMetadata().getNamespace() + "/" + s.getMetadata().getName() + ":" + (portName.isEmpty() ? sp.getPort() : portName);
        List<String> endpoints = readyEndpoints(s, portName, slices, family);
        if (endpoints.isEmpty()) {
          reject.append("-A VMESH-SERVICES -d ").append(ip).append(host).append(" -p ").append(p).append(" --dport ").append(sp.getPort())
              .append(" -m comment --comment \"").append(comment).append(" has no endpoints\" -j REJECT")
              .append(p.equals("tcp") ? " --reject-with tcp-reset" : "").append('\n');
          continue;
        }
        String svcChain = "VMESH-SVC-" + hash(comment + p);
        chains.append(':').append(svcChain).append(" - [0:0]\n");
        nat.append("-A VMESH-SERVICES -d ").append(ip).append(host).append(" -p ").append(p).append(" --dport ").append(sp.getPort())
            .append(" -m comment --comment \"").append(comment).append("\" -j ").append(svcChain).append('\n');
        for (int i = 0; i < endpoints.size(); i++) {
          String endpoint = endpoints.get(i);
          String sepChain = "VMESH-SEP-" + hash(comment + p + endpoint);
          chains.append(':').append(sepChain).append(" - [0:0]\n");
          int left = endpoints.size() - i;
          nat.append("-A ").append(svcChain);
          if (left > 1) {
            nat.append(" -m statistic --mode random --probability ").append(String.format(java.util.Locale.ROOT, "%.11f", 1.0 / left));
          }
          nat.append(" -j ").append(sepChain).append('\n');
          int colon = endpoint.lastIndexOf(':');
          String endpointIp = endpoint.substring(0, colon);
          String to = v6 ? "[" + endpointIp + "]" + endpoint.substring(colon) : endpoint;
          nat.append("-A ").append(sepChain).append(" -s ").append(endpointIp).append(host).append(" -j VMESH-MARK-MASQ\n");
          nat.append("-A ").append(sepChain).append(" -p ").append(p).append(" -j DNAT --to-destination ").append(to).append('\n');
        }
      }
    }
    return "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        + ":VMESH-SERVICES - [0:0]\n:VMESH-POSTROUTING - [0:0]\n:VMESH-MARK-MASQ - [0:0]\n" + chains
        + "-A PREROUTING -j VMESH-SERVICES\n-A OUTPUT -j VMESH-SERVICES\n-A POSTROUTING -j VMESH-POSTROUTING\n"
        + "-A VMESH-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n"
        + "-A VMESH-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE\n"
        + nat + "COMMIT\n"
        + "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:VMESH-SERVICES - [0:0]\n"
        + "-A FORWARD -j VMESH-SERVICES\n-A OUTPUT -j VMESH-SERVICES\n" + reject + "COMMIT\n";
  }

  /** {@code ip:port} of each ready endpoint of a Service port, from the Service's slices of {@code family}. */
  static List<String> readyEndpoints(Service s, String portName, List<EndpointSlice> slices, String family) {
    List<String> out = new ArrayList<>();
    for (EndpointSlice slice : slices) {
      if (!family.equals(slice.getAddressType() == null ? "IPv4" : slice.getAddressType())
          || !s.getMetadata().getNamespace().equals(slice.getMetadata().getNamespace()) || slice.getMetadata().getLabels() == null
          || !s.getMetadata().getName().equals(slice.getMetadata().getLabels().get(EndpointSliceController.SERVICE_NAME))
          || slice.getPorts() == null || slice.getEndpoints() == null) {
        continue;
      }
      for (EndpointPort port : slice.getPorts()) {
        if (!portName.equals(port.getName() == null ? "" : port.getName()) || port.getPort() == null) {
          continue;
        }
        for (Endpoint e : slice.getEndpoints()) {
          boolean ready = e.getConditions() == null || e.getConditions().getReady() == null || e.getConditions().getReady();
          if (ready) {
            e.getAddresses().forEach(a -> out.add(a + ":" + port.getPort()));
          }
        }
      }
    }
    return out.stream().distinct().sorted().toList();
  }

  private static String hash(String text) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 8).toUpperCase(java.util.Locale.ROOT);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public synchronized void podAdded(io.vmesh.sandbox.topology.Pod netns, Pod pod) {
    PodEntry entry = new PodEntry(netns, pod.getMetadata().getNamespace(), pod.getMetadata().getName());
    pods.put(netns.netns(), entry);
    writeFiles(entry);
  }

  @Override
  public synchronized void podRemoved(io.vmesh.sandbox.topology.Pod netns) {
    pods.remove(netns.netns());
  }

  private void writeFiles(PodEntry entry) {
    Path dir = Topology.ETC_NETNS.resolve(entry.netns().netns());
    try {
      Files.createDirectories(dir);
      writeInPlace(dir.resolve("hosts"), hosts(entry.netns().ip(), entry.name(), entry.namespace(), services));
      writeInPlace(dir.resolve("resolv.conf"), "# vmesh sandbox: names come from /etc/hosts; there is no DNS server\n"
          + "search " + entry.namespace() + ".svc.cluster.local svc.cluster.local cluster.local\n"
          + "nameserver 127.0.0.1\noptions ndots:5 timeout:1 attempts:1\n");
      writeInPlace(dir.resolve("gai.conf"), GAI_CONF);
    } catch (IOException e) {
      LOG.warn("cannot write the hosts file of {}: {}", entry.netns().netns(), e.toString());
    }
  }

  /** Truncates and writes, keeping the inode: running processes had this very file bind-mounted. */
  private static void writeInPlace(Path file, String text) throws IOException {
    Files.writeString(file, text, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    file.toFile().setReadable(true, false);
  }

  /**
   * glibc's address sorting ranks a ULA (the IPv6 ClusterIPs) above IPv4, so a name with both would be dialled over
   * IPv6 first; the pods' resolver prefers IPv4, as a dual-stack node configured IPv4-first does (RFC 6724 §10.3).
   */
  static final String GAI_CONF = "# vmesh sandbox: IPv4 first for names with both A and AAAA (RFC 6724 10.3)\n"
      + "precedence ::1/128 50\nprecedence ::/0 40\nprecedence 2002::/16 30\nprecedence ::/96 20\nprecedence ::ffff:0:0/96 100\n";

  static String hosts(String podIp, String podName, String namespace, List<Service> services) {
    StringBuilder out = new StringBuilder("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    out.append(podIp).append('\t').append(podName).append('\n');
    for (Service s : services) {
      // a dual-stack Service has a line per address, as DNS answers A and AAAA for it
      for (String ip : clusterIps(s)) {
        String name = s.getMetadata().getName();
        String ns = s.getMetadata().getNamespace();
        out.append(ip).append('\t').append(name).append('.').append(ns).append(".svc.cluster.local ")
            .append(name).append('.').append(ns).append(".svc ").append(name).append('.').append(ns);
        if (ns.equals(namespace)) {
          out.append(' ').append(name);
        }
        out.append('\n');
      }
    }
    return out.toString();
  }
}
