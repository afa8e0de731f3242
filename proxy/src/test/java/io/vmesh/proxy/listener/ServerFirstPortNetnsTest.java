package io.vmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy as a sidecar sees it: a process in its own network namespace, connections REDIRECTed by
 * iptables to one inbound listener with tls_inspector and http_inspector (2 s timeout, no continue). Port
 * 3306's chain is plain tcp_proxy to a server-first server, port 8080 has a chain on application
 * protocols: the 3306 greeting reaches the client at once, 8080 is sniffed (HTTP goes to its chain, a
 * silent client is closed at the timeout). Needs root, ip and iptables (under CI=true it must run).
 */
class ServerFirstPortNetnsTest {

  @TempDir
  Path dir;

  private final String ns = "vmesh-pt-" + UUID.randomUUID().toString().substring(0, 8);
  private final List<Process> processes = new ArrayList<>();
  private boolean created;

  @AfterEach
  void cleanUp() throws Exception {
    for (Process p : processes) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (created) {
      run("ip", "netns", "del", ns);
    }
  }

  @Test
  void aServerFirstPortIsNotSniffedWhileAnotherPortOfTheListenerIs() throws Exception {
    requireRootAndNetns();
    run("ip", "netns", "add", ns);
    created = true;
    run("ip", "-n", ns, "link", "set", "lo", "up");
    run("ip", "-n", ns, "addr", "add", "10.200.0.1/32", "dev", "lo");
    run("ip", "netns", "exec", ns, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "10.200.0.1",
        "-m", "multiport", "--dports", "3306,8080", "-j", "REDIRECT", "--to-ports", "15006");
    Path servers = Files.writeString(dir.resolve("servers.py"), """
        import socket, threading
        def bound(port):
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port)); s.listen(16)
            return s
        def serve(s, greeting):
            while True:
                c, _ = s.accept()
                def echo(c):
                    if greeting: c.sendall(greeting)
                    while True:
                        d = c.recv(4096)
                        if not d: break
                        c.sendall(d)
                    c.close()
                threading.Thread(target=echo, args=(c,), daemon=True).start()
        banner, echo = bound(3307), bound(8081)
        print("listening", flush=True)
        threading.Thread(target=serve, args=(banner, b"220 ready\\r\\n"), daemon=True).start()
        serve(echo, None)
        """);
    Path bootstrap = Files.writeString(dir.resolve("bootstrap.yaml"), """
        static_resources:
          listeners:
          - name: inbound
            address: { socket_address: { address: 0.0.0.0, port_value: 15006 } }
            listener_filters:
            - { name: o, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst } }
            - { name: t, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector } }
            - { name: h, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector } }
            listener_filters_timeout: 2s
            filter_chains:
            - filter_chain_match: { destination_port: 3306 }
              filters: [ { name: t, typed_config: { "@type": %1$s, stat_prefix: mysql, cluster: banner } } ]
            - filter_chain_match: { destination_port: 8080, application_protocols: [ http/1.1 ] }
              filters: [ { name: t, typed_config: { "@type": %1$s, stat_prefix: http, cluster: echo } } ]
            - filter_chain_match: { destination_port: 8080 }
              filters: [ { name: t, typed_config: { "@type": %1$s, stat_prefix: raw, cluster: banner } } ]
          clusters:
          - { name: banner, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 3307 } } } } ] } ] } }
          - { name: echo, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8081 } } } } ] } ] } }
        """.formatted("type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"));
    Process serving = start("/usr/bin/python3", "-u", servers.toString());
    awaitLine(serving, "listening");
    Process proxy = start(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), "io.vmesh.proxy.ProxyMain", "run", "--bootstrap", bootstrap.toString(),
        "--health-port", "0", "--prometheus-port", "0", "--concurrency", "1");
    awaitLine(proxy, "vmesh-proxy ready");

    Path client = Files.writeString(dir.resolve("client.py"), """
        import socket, sys, time
        def connect(port):
            s = socket.create_connection(("10.200.0.1", port), timeout=10); return s
        t = time.monotonic(); s = connect(3306); g = s.recv(64)
        print("3306", repr(g.decode()), int((time.monotonic() - t) * 1000), sep="|", flush=True); s.close()
        s = connect(8080); s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"); s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            d = s.recv(4096)
            if not d: break
            data += d
        print("8080-http", repr(data.decode()), sep="|", flush=True); s.close()
        t = time.monotonic(); s = connect(8080); d = s.recv(64)
        print("8080-silent", repr(d.decode()), int((time.monotonic() - t) * 1000), sep="|", flush=True)
        """);
    Process asking = new ProcessBuilder("ip", "netns", "exec", ns, "/usr/bin/python3", "-u", client.toString()).start();
    processes.add(asking);
    assertThat(asking.waitFor(30, TimeUnit.SECONDS)).as("the client finished").isTrue();
    List<String> lines = new String(asking.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    assertThat(lines).as(new String(asking.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).hasSize(3);

    String[] greeting = lines.get(0).split("\\|");
    assertThat(greeting[1]).isEqualTo("'220 ready\\r\\n'");
    // sniffing would have waited the 2 s timeout and then closed it: loose bound for a loaded machine
    assertThat(Long.parseLong(greeting[2])).as("ms to the server's greeting").isLessThan(1500);
    assertThat(lines.get(1)).isEqualTo("8080-http|'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'");
    String[] silent = lines.get(2).split("\\|");
    assertThat(silent[1]).as("sniffed, timed out, closed: nothing relayed").isEqualTo("''");
    assertThat(Long.parseLong(silent[2])).as("ms until closed").isGreaterThanOrEqualTo(1500);
  }

  private Process start(String... command) throws IOException {
    List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    full.addAll(List.of(command));
    // one stream to read (the proxy logs to standard error), drained to its end so the process never blocks on it
    Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
    processes.add(p);
    return p;
  }

  /** Waits (30 s at most) for a line containing {@code text}, then keeps reading the output in the background. */
  private static void awaitLine(Process p, String text) throws Exception {
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<Void> found = new CompletableFuture<>();
    StringBuilder seen = new StringBuilder();
    Thread reader = new Thread(() -> {
      try {
        for (String line = out.readLine(); line != null; line = out.readLine()) {
          if (!found.isDone()) {
            seen.append(line).append('\n');
          }
          if (line.contains(text)) {
            found.complete(null);
          }
        }
      } catch (IOException e) {
        // the process was stopped
      }
      found.completeExceptionally(new AssertionError("the process ended before printing '" + text + "': " + seen));
    });
    reader.setDaemon(true);
    reader.start();
    try {
      found.get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no line '" + text + "' within 30 s; printed: " + seen + " alive: " + p.isAlive());
    }
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0).as(String.join(" ", command) + ": " + out).isTrue();
  }

  /** Under CI=true a missing prerequisite fails the test: it must run there. */
  private static void requireRootAndNetns() throws Exception {
    List<String> missing = new ArrayList<>();
    Process id = new ProcessBuilder("id", "-u").start();
    if (!new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip().equals("0")) {
      missing.add("not root");
    }
    for (String tool : List.of("/usr/sbin/ip", "/usr/sbin/iptables", "/usr/bin/python3")) {
      if (!Files.isExecutable(Path.of(tool))) {
        missing.add(tool + " missing");
      }
    }
    if (!missing.isEmpty() && "true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new IllegalStateException("CI=true, so this namespace test must run, but: " + missing);
    }
    Assumptions.assumeTrue(missing.isEmpty(), "namespace test skipped outside CI: " + missing);
  }
}
