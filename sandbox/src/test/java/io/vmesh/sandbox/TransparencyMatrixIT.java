package io.vmesh.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.accesslog.AccessLogLine;
import io.vmesh.sandbox.cluster.MeshInABox;
import io.vmesh.sandbox.cluster.NodeCommand;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transparency matrix on mesh-in-a-box: every cell is a real connection from an injected client pod (uid 1000)
 * through its sidecar — and the server's sidecar where the server is injected — with a real client and server of its
 * protocol ({@code matrix-client}, {@code matrix-server} of this jar, image {@code ghcr.io/vmesh/samples/matrix}).
 * Captured cells must arrive intact and show in the client sidecar's access log (listener, expected cluster, no
 * response flag); bypass cells (localhost, an excluded port) must arrive and not show there. The table is printed
 * at the end; a failing cell is named with what was seen.
 */
@ExtendWith(NeedsRootAndNetns.class)
class TransparencyMatrixIT {

  private static final Logger LOG = LoggerFactory.getLogger(TransparencyMatrixIT.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(240);
  private static final int APP_UID = 1000;
  private static final String NS = "matrix";
  private static final String SNI = "matrix.example";
  private static final int EXCLUDED_PORT = 7001;
  private static final String GRPC_PATH = "/vmesh.matrix.Echo/Say";
  /**
   * A server-first protocol on a declared TCP port is not sniffed at all (checked without timing: no listener filter
   * timed out in either sidecar); its greeting must also come well under a 5 s listener_filters_timeout.
   */
  private static final long SERVER_FIRST_MAX_MILLIS = 4000;
  /**
   * On a port left to sniffing, each sidecar waits for the client's first bytes until its {@code listener_filters_timeout}
   * (1 s) and then carries the connection as TCP: about 2 s on a quiet machine; the bound only says that no hop waited
   * for Envoy's default 15 s, since a loaded machine stretches the rest.
   */
  private static final long SERVER_FIRST_SNIFFED_MAX_MILLIS = 15_000;

  enum Protocol {
    HTTP1("HTTP/1.1", "http1", 8080), H2C("HTTP/2 h2c", "h2c", 8082), GRPC("gRPC unary", "grpc", 8081), TCP("raw TCP", "tcp", 7000),
    TLS("TLS SNI", "tls", 8443), FIRST("server-first", "first", 9091), FIRST_SNIFFED("srv-1st sniff", "first", 9092);

    final String title;
    final String kind;
    final int port;

    Protocol(String title, String kind, int port) {
      this.title = title;
      this.kind = kind;
      this.port = port;
    }
  }

  enum Destination {
    VIP("VIP"), POD("pod IP"), HAIRPIN("hairpin"), LOCALHOST("localhost"), EXCLUDED("excl.port"), ALLOW_ANY("ext ALLOW"),
    REGISTRY_ONLY("ext REG_ONLY");

    final String title;

    Destination(String title) {
      this.title = title;
    }

    boolean bypass() {
      return this == LOCALHOST || this == EXCLUDED;
    }
  }

  enum Family {
    V4("v4"), V6("v6");

    final String title;

    Family(String title) {
      this.title = title;
    }
  }

  record Cell(Protocol protocol, Destination destination, Family family) {
    String id() {
      return (protocol.name() + "-" + destination.name() + "-" + family.title).toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    @Override
    public String toString() {
      return protocol.title + " → " + destination.title + " " + family.title;
    }
  }

  /** What the client printed for a cell: {@code cell <id> ok|fail millis=<n> local=<addr> answer=<text>}. */
  record Outcome(boolean ok, long millis, String local, String answer) {
    static Optional<Map.Entry<String, Outcome>> parse(String line) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("^cell (\\S+) (ok|fail) millis=(-?\\d+) local=(\\S+) answer=(.*)$")
          .matcher(line);
      if (!m.matches()) {
        return Optional.empty();
      }
      return Optional.of(Map.entry(m.group(1), new Outcome(m.group(2).equals("ok"), Long.parseLong(m.group(3)), m.group(4), m.group(5))));
    }
  }

  /** Why a cell is not run, or null when it is. */
  static String notApplicable(Cell c) {
    return switch (c.destination()) {
      case LOCALHOST -> c.protocol() == Protocol.HTTP1 || c.protocol() == Protocol.TCP ? null : "bypass: two protocols show it";
      case EXCLUDED -> c.protocol() == Protocol.TCP ? null : "bypass: one port is excluded";
      case ALLOW_ANY, REGISTRY_ONLY -> c.protocol() != Protocol.HTTP1 ? "the external server speaks HTTP"
          : c.family() == Family.V6 ? "the external host has no IPv6 address" : null;
      case VIP, HAIRPIN, POD -> null;
    };
  }

  @Test
  void everyApplicableCellCarriesItsBytesTransparently() throws Exception {
    BoxChecks.inBox(LOG, this::run);
  }

  private void run(MeshInABox box) throws Exception {
    Path tls = certificate(box.topology().workDir());
    box.kubectlApply(namespaceCaptureAndPolicy());
    awaitKubectl(box, "True"::equals, "get", "tc", NS, "-n", NS, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
    box.kubectlApply(workloads(tls));
    awaitReady(box, List.of("server", "client", "client-ro"));

    Map<String, String> ip = new LinkedHashMap<>();
    for (String pod : List.of("server", "client", "client-ro")) {
      String ips = box.kubectlOk("get", "pod", pod, "-n", NS, "-o", "jsonpath={.status.podIPs[*].ip}").stdout().strip();
      String[] both = ips.split(" ");
      assertThat(both).as("podIPs of " + pod + " (dual-stack)").hasSize(2);
      ip.put(pod + "4", both[0]);
      ip.put(pod + "6", both[1]);
    }
    // server: dual stack, IPv4 first; client: dual stack, IPv6 first (its cluster's endpoints are IPv6: EDS in IPv6)
    List<String> serverVips = clusterIps(box, "server", "IPv4");
    List<String> clientVips = clusterIps(box, "client", "IPv6");
    String serverVip = serverVips.get(0);
    Map<Family, String> serverVip46 = Map.of(Family.V4, serverVips.get(0), Family.V6, serverVips.get(1));
    Map<Family, String> clientVip46 = Map.of(Family.V4, clientVips.get(1), Family.V6, clientVips.get(0));
    BoxChecks.dualStackService(box, NS, "server");
    BoxChecks.dualStackService(box, NS, "client");
    // a name with both A and AAAA lines resolves IPv4 first in the pods (glibc would rank the ULA first)
    SystemCommand.Result resolved = box.execInPod(box.netnsOf(NS, "client"), Duration.ofSeconds(10), List.of("getent", "ahosts", "server"));
    assertThat(resolved.stdout().lines().map(l -> l.split("\\s+")[0]).distinct().toList()).as("getent ahosts server")
        .containsExactly(serverVips.get(0), serverVips.get(1));
    String clientNs = box.netnsOf(NS, "client");
    String readOnlyNs = box.netnsOf(NS, "client-ro");
    // the sidecars have the Services' clusters and endpoints from xDS (else a VIP cell would pass through unrouted)
    awaitAdmin(box, clientNs, "/clusters", List.of("outbound|8080||server." + NS + ".svc.cluster.local::" + ip.get("server4") + ":8080",
        "outbound|8080||client." + NS + ".svc.cluster.local::" + TransparencyMatrixIT.hostPort(ip.get("client6"), 8080)));
    awaitAdmin(box, readOnlyNs, "/config_dump", List.of("block_all"));

    kubeProxyCarriesTheProxysOwnTraffic(box, clientNs, serverVips, ip);

    List<Cell> run = new ArrayList<>();
    Map<Cell, String> notApplicable = new LinkedHashMap<>();
    Map<Cell, String> target = new LinkedHashMap<>();
    for (Protocol p : Protocol.values()) {
      for (Destination d : Destination.values()) {
        for (Family f : Family.values()) {
          Cell c = new Cell(p, d, f);
          String why = notApplicable(c);
          if (why != null) {
            notApplicable.put(c, why);
            continue;
          }
          String host = switch (d) {
            case VIP -> serverVip46.get(f);
            case POD, EXCLUDED -> ip.get("server" + (f == Family.V4 ? "4" : "6"));
            case HAIRPIN -> clientVip46.get(f);
            case LOCALHOST -> f == Family.V4 ? "127.0.0.1" : "::1";
            case ALLOW_ANY, REGISTRY_ONLY -> Topology.EXTERNAL_IP;
          };
          int port = d == Destination.EXCLUDED ? EXCLUDED_PORT : d == Destination.ALLOW_ANY || d == Destination.REGISTRY_ONLY ? 80 : p.port;
          target.put(c, hostPort(host, port));
          run.add(c);
        }
      }
    }

    Instant started = Instant.now();
    // three rounds: the server-first cells on the declared port alone, so that the sidecars' listener-filter timeout
    // counters speak of them only (a client slow to send its first bytes on a loaded machine also times a filter out);
    // then the sniffed ones, which wait for the filters by design; everything else at once beside them
    List<Cell> fromClient = run.stream().filter(c -> c.destination() != Destination.REGISTRY_ONLY && !c.protocol().kind.equals("first"))
        .toList();
    List<Cell> fromReadOnly = run.stream().filter(c -> c.destination() == Destination.REGISTRY_ONLY).toList();
    CompletableFuture<Map<String, Outcome>> a = CompletableFuture.supplyAsync(() -> connect(box, clientNs, tls, fromClient, target));
    CompletableFuture<Map<String, Outcome>> b = CompletableFuture.supplyAsync(() -> connect(box, readOnlyNs, tls, fromReadOnly, target));
    Map<String, Outcome> outcomes = new LinkedHashMap<>(a.get());
    outcomes.putAll(b.get());
    String serverNs = box.netnsOf(NS, "server");
    long before = listenerFilterTimeouts(box, clientNs) + listenerFilterTimeouts(box, serverNs);
    outcomes.putAll(connect(box, clientNs, tls, run.stream().filter(c -> c.protocol() == Protocol.FIRST).toList(), target));
    long stalled = listenerFilterTimeouts(box, clientNs) + listenerFilterTimeouts(box, serverNs) - before;
    outcomes.putAll(connect(box, clientNs, tls, run.stream().filter(c -> c.protocol() == Protocol.FIRST_SNIFFED).toList(), target));
    LOG.info("{} connections made in {} ms", outcomes.size(), Duration.between(started, Instant.now()).toMillis());

    Path clientLog = box.podLogs(NS, "client").resolve("vmesh-proxy.log");
    Path readOnlyLog = box.podLogs(NS, "client-ro").resolve("vmesh-proxy.log");
    Path serverLog = box.podLogs(NS, "server").resolve("vmesh-proxy.log");
    Path clientApp = box.podLogs(NS, "client").resolve("app.log");
    Map<Cell, String> failures = new LinkedHashMap<>();
    for (Cell c : run) {
      Outcome o = outcomes.get(c.id());
      String why = o == null ? "the client printed nothing for it" : judge(c, o, target.get(c), ip, serverVip,
          c.destination() == Destination.REGISTRY_ONLY ? readOnlyLog : clientLog, serverLog, clientApp);
      if (why == null && c.protocol() == Protocol.FIRST && stalled > 0) {
        why = stalled + " server-first connection(s) on the declared port waited for a listener filter to time out (downstream_pre_cx_timeout)";
      }
      if (why != null) {
        failures.put(c, why + (o == null ? "" : " (client saw: " + (o.ok() ? "ok" : "fail") + " in " + o.millis() + " ms, local="
            + o.local() + ", answer=" + o.answer() + ")"));
      }
    }
    String table = table(run, notApplicable, failures);
    LOG.info("transparency matrix ({} cells run, {} failed):\n{}", run.size(), failures.size(), table);
    assertThat(failures).as("failed cells:\n" + failureText(failures) + "\n" + table + "\nclient sidecar log:\n" + tail(clientLog)
        + "\nserver sidecar log:\n" + tail(serverLog)).isEmpty();
  }

  /**
   * The cells' VIPs are resolved by the sidecar; the node's kube-proxy rules carry what capture leaves alone. The
   * proxy's uid (never captured) dials both of the server's VIPs: the node's iptables / ip6tables DNAT it to the
   * server pod's address of that family, where the server's sidecar takes it in, and the client's sidecar never sees it.
   */
  private static void kubeProxyCarriesTheProxysOwnTraffic(MeshInABox box, String clientNs, List<String> serverVips, Map<String, String> ip)
      throws Exception {
    Path serverLog = box.podLogs(NS, "server").resolve("vmesh-proxy.log");
    Path clientLog = box.podLogs(NS, "client").resolve("vmesh-proxy.log");
    for (String vip : serverVips) {
      boolean v6 = vip.contains(":");
      String code = "import socket\n"
          + "s = socket.create_connection(('" + vip + "', 7000), timeout=20)\n"
          + "print('local=' + ('[%s]:%d' if s.family == socket.AF_INET6 else '%s:%d') % s.getsockname()[:2])\n"
          + "s.sendall(b'kube-proxy\\n'); s.shutdown(socket.SHUT_WR)\n"
          + "data = b''\n"
          + "while True:\n"
          + "    b = s.recv(4096)\n"
          + "    if not b: break\n"
          + "    data += b\n"
          + "print('answer=' + data.decode().strip())\n";
      SystemCommand.Result r = box.execInPod(clientNs, Duration.ofSeconds(40), List.of("setpriv", "--reuid=1337", "--regid=1337",
          "--clear-groups", "/usr/bin/python3", "-c", code));
      assertThat(r.stdout()).as("uid 1337 in the client pod to " + vip + ":7000 through kube-proxy: " + r.stderr()).contains("answer=kube-proxy\n");
      String local = r.stdout().lines().filter(l -> l.startsWith("local=")).findFirst().orElseThrow().substring("local=".length());
      String endpoint = hostPort(ip.get("server" + (v6 ? "6" : "4")), 7000);
      assertThat(awaitLog(serverLog, l -> sameAddress(l.downstreamLocalAddress(), endpoint) && sameAddress(l.downstreamRemoteAddress(), local)))
          .as("the server sidecar took in " + local + " -> " + vip + ":7000 at " + endpoint + " (DNATed by the node's "
              + (v6 ? "ip6tables" : "iptables") + ")").isPresent();
      assertThat(log(clientLog)).as("the client sidecar never saw its own uid's connection").noneMatch(l -> sameAddress(l.downstreamRemoteAddress(), local));
    }
  }

  /** Null when the cell did what it must, else what was seen instead. */
  private static String judge(Cell c, Outcome o, String target, Map<String, String> ip, String serverVip, Path clientLog, Path serverLog,
      Path clientApp) throws Exception {
    if (c.destination() == Destination.REGISTRY_ONLY) {
      if (o.ok()) {
        return "REGISTRY_ONLY let the connection to the external server through";
      }
      Optional<AccessLogLine> line = awaitLog(clientLog, l -> sameAddress(l.downstreamLocalAddress(), target));
      if (line.isEmpty()) {
        return "no access-log line of the refused connection to " + target;
      }
      return line.get().upstreamCluster().equals("BlackHoleCluster") ? null
          : "refused, but by cluster " + line.get().upstreamCluster() + " instead of BlackHoleCluster";
    }
    if (!o.ok()) {
      return "the connection did not carry its bytes";
    }
    String expected = switch (c.protocol()) {
      case HTTP1 -> c.destination() == Destination.ALLOW_ANY ? "HTTP_1_1 200 external server: /matrix/" + c.id() : "HTTP_1_1 200 matrix ";
      case H2C -> "HTTP_2 200 matrix ";
      case GRPC -> "grpc-status OK matrix ";
      case TCP -> "echo ";
      case TLS -> "tls ";
      case FIRST, FIRST_SNIFFED -> "matrix ";
    };
    if (!o.answer().startsWith(expected)) {
      return "the answer does not start with '" + expected + "'";
    }
    if (c.protocol() == Protocol.TLS && !o.answer().contains("sni=" + SNI + " ")) {
      return "the TLS server did not get the SNI " + SNI;
    }
    long greetingLimit = c.protocol() == Protocol.FIRST ? SERVER_FIRST_MAX_MILLIS : SERVER_FIRST_SNIFFED_MAX_MILLIS;
    if (c.protocol().kind.equals("first") && o.millis() > greetingLimit) {
      return "the server's greeting took " + o.millis() + " ms, more than " + greetingLimit + " ms (stalled by sniffing)";
    }
    if (c.destination().bypass()) {
      List<AccessLogLine> lines = log(clientLog);
      Optional<AccessLogLine> seen = lines.stream().filter(l -> sameAddress(l.downstreamLocalAddress(), target)
          || (!o.local().equals("-") && sameAddress(l.downstreamRemoteAddress(), o.local()))).findFirst();
      if (seen.isPresent()) {
        return "went through the client's sidecar: " + seen.get();
      }
      if (c.destination() == Destination.LOCALHOST && c.protocol() == Protocol.TCP
          && Files.readAllLines(clientApp).stream().noneMatch(l -> l.contains("accepted echo peer=") && addressAfter(l, "peer=", o.local()))) {
        return "the app did not see the client's own address " + o.local() + " as its peer";
      }
      return null;
    }
    // gRPC's client does not tell its local address; its target is the cell's alone (IPv6 goes as TCP: no path)
    Predicate<AccessLogLine> ours = l -> sameAddress(l.downstreamLocalAddress(), target)
        && (o.local().equals("-") ? l.path().equals(GRPC_PATH) || l.path().equals("-") : sameAddress(l.downstreamRemoteAddress(), o.local()));
    Optional<AccessLogLine> line = awaitLog(clientLog, ours);
    if (line.isEmpty()) {
      return "no line in the client sidecar's access log for " + o.local() + " → " + target;
    }
    AccessLogLine l = line.get();
    String cluster = switch (c.destination()) {
      case VIP -> "outbound|" + c.protocol().port + "||server." + NS + ".svc.cluster.local";
      case HAIRPIN -> "outbound|" + c.protocol().port + "||client." + NS + ".svc.cluster.local";
      default -> "PassthroughCluster";
    };
    if (!l.responseFlags().equals("-") || !l.upstreamCluster().equals(cluster) || l.listener().equals("-")) {
      return "client sidecar logged listener=" + l.listener() + " cluster=" + l.upstreamCluster() + " flags=" + l.responseFlags()
          + ", expected cluster " + cluster + " and flags -";
    }
    if (c.destination() == Destination.VIP || c.destination() == Destination.POD) {
      // the server is injected too: its sidecar took the connection in on the port the app serves; through either VIP
      // it is the endpoint of the Service's primary family (IPv4), as Istio gives a dual-stack pod one endpoint address
      String family = c.destination() == Destination.VIP || c.family() == Family.V4 ? "4" : "6";
      String inbound = hostPort(ip.get("server" + family), c.protocol().port);
      if (awaitLog(serverLog, s -> sameAddress(s.downstreamLocalAddress(), inbound) && s.responseFlags().equals("-")).isEmpty()) {
        return "no line in the server sidecar's access log for " + inbound;
      }
    }
    return null;
  }

  /** The sidecar's {@code listener.*.downstream_pre_cx_timeout} counters, summed: connections held until a listener filter timed out. */
  private static long listenerFilterTimeouts(MeshInABox box, String netns) {
    SystemCommand.Result r = box.execInPod(netns, Duration.ofSeconds(10), List.of("curl", "-sS", "-m", "5", "http://127.0.0.1:15000/stats"));
    assertThat(r.ok()).as("stats of the sidecar in " + netns + ": " + r.stderr()).isTrue();
    return r.stdout().lines().filter(l -> l.startsWith("listener.") && l.contains(".downstream_pre_cx_timeout: "))
        .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1).strip())).sum();
  }

  private static Map<String, Outcome> connect(MeshInABox box, String netns, Path tls, List<Cell> cells, Map<Cell, String> target) {
    if (cells.isEmpty()) {
      return Map.of();
    }
    List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=" + APP_UID, "--regid=" + APP_UID, "--clear-groups"));
    List<String> args = new ArrayList<>(List.of("matrix-client", "--ca", tls.resolve("cert.pem").toString(), "--sni", SNI));
    cells.forEach(c -> args.add(c.id() + "=" + c.protocol().kind + "@" + target.get(c)));
    cmd.addAll(io.vmesh.sandbox.Artifacts.javaJar(box.topology().workDir().resolve("bin/vmesh-sandbox.jar"), args.toArray(String[]::new)));
    SystemCommand.Result r = box.execInPod(netns, Duration.ofSeconds(120), cmd);
    LOG.info("matrix-client in {}:\n{}{}", netns, r.stdout(), r.stderr());
    Map<String, Outcome> out = new LinkedHashMap<>();
    r.stdout().lines().map(Outcome::parse).flatMap(Optional::stream).forEach(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  private static String table(List<Cell> run, Map<Cell, String> notApplicable, Map<Cell, String> failures) {
    StringBuilder t = new StringBuilder();
    String first = "%-14s";
    String col = " | %-14s";
    t.append(String.format(first, "protocol"));
    for (Destination d : Destination.values()) {
      for (Family f : Family.values()) {
        t.append(String.format(col, d.title + " " + f.title));
      }
    }
    t.append('\n').append("-".repeat(14 + 17 * Destination.values().length * Family.values().length)).append('\n');
    for (Protocol p : Protocol.values()) {
      t.append(String.format(first, p.title));
      for (Destination d : Destination.values()) {
        for (Family f : Family.values()) {
          Cell c = new Cell(p, d, f);
          t.append(String.format(col, failures.containsKey(c) ? "FAIL" : run.contains(c) ? "PASS" : "n.a."));
        }
      }
      t.append('\n');
    }
    java.util.Set<String> reasons = new java.util.LinkedHashSet<>(notApplicable.values());
    t.append("n.a.: ").append(String.join("; ", reasons)).append('\n');
    return t.toString();
  }

  private static String failureText(Map<Cell, String> failures) {
    StringBuilder s = new StringBuilder();
    failures.forEach((c, why) -> s.append("  ").append(c).append(": ").append(why).append('\n'));
    return s.toString();
  }

  /** Whether two {@code ip:port} texts name the same socket address (IPv6 written either way). */
  static boolean sameAddress(String a, String b) {
    Optional<InetSocketAddress> x = socketAddress(a);
    return x.isPresent() && x.equals(socketAddress(b));
  }

  private static boolean addressAfter(String line, String key, String address) {
    int i = line.indexOf(key);
    if (i < 0) {
      return false;
    }
    String value = line.substring(i + key.length()).split(" ")[0].replaceFirst("^/", "");
    return sameAddress(value, address);
  }

  private static Optional<InetSocketAddress> socketAddress(String text) {
    int colon = text.lastIndexOf(':');
    if (colon < 0) {
      return Optional.empty();
    }
    String host = text.substring(0, colon).replace("[", "").replace("]", "");
    try {
      return Optional.of(new InetSocketAddress(InetAddress.getByName(host), Integer.parseInt(text.substring(colon + 1))));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  static String hostPort(String host, int port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  private static List<AccessLogLine> log(Path file) throws IOException {
    if (!Files.exists(file)) {
      return List.of();
    }
    return Files.readAllLines(file).stream().map(AccessLogLine::parse).flatMap(Optional::stream).toList();
  }

  /** Lines are written when a connection ends, a moment after the client saw its answer. */
  private static Optional<AccessLogLine> awaitLog(Path file, Predicate<AccessLogLine> match) throws Exception {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(15));
    do {
      Optional<AccessLogLine> found = log(file).stream().filter(match).findFirst();
      if (found.isPresent()) {
        return found;
      }
      Thread.sleep(200);
    } while (Instant.now().isBefore(deadline));
    return Optional.empty();
  }

  private static String tail(Path file) throws IOException {
    if (!Files.exists(file)) {
      return "(missing)";
    }
    List<String> lines = Files.readAllLines(file);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
  }

  /** A key and a self-signed certificate for {@value #SNI}, readable by the apps' uid. */
  private static Path certificate(Path workDir) throws IOException {
    Path dir = Files.createDirectories(workDir.resolve("matrix-tls"));
    SystemCommand.check("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=" + SNI,
        "-addext", "subjectAltName=DNS:" + SNI, "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString());
    for (Path p : List.of(dir, dir.resolve("key.pem"), dir.resolve("cert.pem"))) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
    }
    return dir;
  }

  private static String namespaceCaptureAndPolicy() {
    return """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: %1$s
          labels:
            vmesh.io/injection: enabled
        ---
        apiVersion: vmesh.io/v1alpha1
        kind: TrafficCapture
        metadata:
          name: %1$s
          namespace: %1$s
        spec:
          selector:
            matchLabels:
              app.kubernetes.io/part-of: %1$s
          mode: REDIRECT
          inbound:
            ports: ["*"]
          outbound:
            ipRanges: ["*"]
        ---
        apiVersion: vmesh.io/v1alpha1
        kind: MeshPolicy
        metadata:
          name: registry-only
          namespace: %1$s
        spec:
          selector:
            matchLabels:
              app: client-ro
          outboundTrafficPolicy: REGISTRY_ONLY
        """.formatted(NS);
  }

  /**
   * The server, the client (which serves too, for hairpin and localhost, and excludes {@value #EXCLUDED_PORT} from
   * capture) and a REGISTRY_ONLY client; Services {@code server} (dual stack, IPv4 first) and {@code client} (dual
   * stack, IPv6 first) name each port so that its
   * protocol is declared, except one of the two server-first ports, which is left to sniffing (the case that could stall).
   */
  private static String workloads(Path tls) {
    StringBuilder y = new StringBuilder();
    for (String app : List.of("server", "client", "client-ro")) {
      String annotations = app.equals("client") ? "\n  annotations:\n    traffic.vmesh.io/excludeOutboundPorts: \"" + EXCLUDED_PORT + "\"" : "";
      y.append("""
          apiVersion: v1
          kind: Pod
          metadata:
            name: %1$s
            namespace: %2$s
            labels:
              app: %1$s
              app.kubernetes.io/part-of: %2$s%3$s
          spec:
            securityContext:
              runAsUser: %4$d
              runAsGroup: %4$d
            containers:
            - name: app
              image: %5$s:0.1.0
              args: [matrix-server, --tls-cert, %6$s, --tls-key, %7$s]
              ports:
              - containerPort: 8080
              - containerPort: 8081
              - containerPort: 8082
              - containerPort: 7000
              - containerPort: 8443
              - containerPort: 9091
              - containerPort: 9092
              readinessProbe:
                httpGet:
                  path: /ready
                  port: 8080
                periodSeconds: 1
          ---
          """.formatted(app, NS, annotations, APP_UID, NodeCommand.MATRIX_IMAGE, tls.resolve("cert.pem"), tls.resolve("key.pem")));
    }
    for (String app : List.of("server", "client")) {
      String families = app.equals("server") ? "ipFamilyPolicy: PreferDualStack" : "ipFamilyPolicy: RequireDualStack\nipFamilies: [IPv6, IPv4]";
      y.append("""
          apiVersion: v1
          kind: Service
          metadata:
            name: %1$s
            namespace: %2$s
          spec:
            %3$s
            selector:
              app: %1$s
            ports:
            - name: http-web
              port: 8080
            - name: grpc-echo
              port: 8081
            - name: http2-web
              port: 8082
            - name: tcp-echo
              port: 7000
            - name: tls-echo
              port: 8443
            - name: tcp-first
              port: 9091
            - name: first
              port: 9092
          ---
          """.formatted(app, NS, families.replace("\n", "\n  ")));
    }
    return y.toString();
  }

  /** The Service's two ClusterIPs, primary ({@code primaryFamily}) first. */
  private static List<String> clusterIps(MeshInABox box, String service, String primaryFamily) {
    String ips = box.kubectlOk("get", "svc", service, "-n", NS, "-o", "jsonpath={.spec.clusterIPs[*]}").stdout().strip();
    List<String> both = List.of(ips.split(" "));
    assertThat(both).as("ClusterIPs of " + service).hasSize(2);
    String v4 = primaryFamily.equals("IPv4") ? both.get(0) : both.get(1);
    String v6 = primaryFamily.equals("IPv4") ? both.get(1) : both.get(0);
    assertThat(v4).as("IPv4 ClusterIP of " + service).startsWith("10.96.");
    assertThat(v6).as("IPv6 ClusterIP of " + service).startsWith("fd00:10:96::");
    return both;
  }

  private static void awaitReady(MeshInABox box, List<String> pods) throws Exception {
    for (String pod : pods) {
      awaitKubectl(box, "True"::equals, "get", "pod", pod, "-n", NS, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}");
      assertThat(box.kubectlOk("get", "pod", pod, "-n", NS, "-o", "jsonpath={.metadata.labels.vmesh\\.io/injected}").stdout())
          .as(pod + " injected").isEqualTo("true");
    }
  }

  private static void awaitAdmin(MeshInABox box, String netns, String path, List<String> wanted) throws InterruptedException {
    Instant deadline = Instant.now().plus(TIMEOUT);
    String last = "";
    while (Instant.now().isBefore(deadline)) {
      SystemCommand.Result r = box.execInPod(netns, Duration.ofSeconds(10), List.of("curl", "-sS", "-m", "5", "http://127.0.0.1:15000" + path));
      last = r.stdout() + r.stderr();
      String text = last;
      if (r.ok() && wanted.stream().allMatch(text::contains)) {
        return;
      }
      Thread.sleep(500);
    }
    throw new AssertionError("the sidecar in " + netns + " never had " + wanted + " in " + path + "; last:\n" + last);
  }

  private static void awaitKubectl(MeshInABox box, Predicate<String> condition, String... args) throws InterruptedException {
    try {
      BoxKubectl.await(box, TIMEOUT, condition, args);
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\n" + box.kubectl("get", "pods", "-A", "-o", "wide").stdout(), e);
    }
  }
}
