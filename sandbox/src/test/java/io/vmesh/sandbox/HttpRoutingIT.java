package io.vmesh.sandbox;

import static io.vmesh.sandbox.PodClient.delta;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.accesslog.AccessLogLine;
import io.vmesh.sandbox.topology.Pod;
import io.vmesh.sandbox.topology.PodProcess;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * HTTP through REDIRECT capture: the app's GET to {@code <server>:8080} (where nothing listens) is taken
 * by virtualOutbound, handed to the {@code 0.0.0.0_8080} listener ({@code bind_to_port: false}) whose
 * http_connection_manager routes it by path to one of two real HTTP servers on the server pod (8081 and
 * 8082, each serving a file that names it); a path without a route gets Envoy's 404.
 */
@ExtendWith(NeedsRootAndNetns.class)
class HttpRoutingIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final RunAs APP = RunAs.user(1000);

  private static Topology topology;
  private static Pod app;
  private static Pod server;
  private static PodProcess sidecar;
  private static Path sandboxJar;
  private static PodClient client;

  @BeforeAll
  static void startMesh() throws IOException {
    topology = Topology.create();
    app = topology.addPod("app");
    server = topology.addPod("server");
    Path proxyJar = topology.stage(Jars.proxy());
    sandboxJar = topology.stage(Jars.sandbox());
    client = new PodClient(app, sandboxJar, TIMEOUT);
    for (String name : List.of("one", "two")) {
      Path root = Files.createDirectories(topology.workDir().resolve("www-" + name).resolve(name));
      Files.writeString(root.resolve("who"), "server " + name + "\n");
      int port = name.equals("one") ? 8081 : 8082;
      server.start("http-" + name, RunAs.ROOT, List.of("/usr/bin/python3", "-u", "-m", "http.server", String.valueOf(port),
              "--bind", server.ip(), "--directory", root.getParent().toString()))
          .awaitLine(l -> l.contains("Serving HTTP"), TIMEOUT);
    }
    sidecar = OutboundSidecar.start(app, proxyJar, topology.workDir().resolve("bin").resolve("http-bootstrap.yaml"),
        bootstrap(server.ip()), TIMEOUT);
  }

  @AfterAll
  static void tearDown() {
    if (topology != null) {
      topology.close();
    }
  }

  static String bootstrap(String serverIp) {
    return OutboundSidecar.bootstrap("""
          - name: 0.0.0.0_8080
            address: { socket_address: { address: 0.0.0.0, port_value: 8080 } }
            bind_to_port: false
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": "%2$s"
                  stat_prefix: outbound_0.0.0.0_8080
                  route_config:
                    name: "8080"
                    virtual_hosts:
                    - name: server
                      domains: [ "%1$s:8080" ]
                      routes:
                      - { match: { prefix: /one/ }, route: { cluster: one } }
                      - { match: { prefix: /two/ }, route: { cluster: two } }
        """.formatted(serverIp, OutboundSidecar.HCM), """
          - { name: one, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: %1$s, port_value: 8081 } } } } ] } ] } }
          - { name: two, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: %1$s, port_value: 8082 } } } } ] } ] } }
        """.formatted(serverIp));
  }

  @Test
  void requestsToTheServicePortAreRoutedByPathToTwoServers() {
    Map<String, Long> before = client.stats();

    assertThat(httpGet("/one/who").stdout()).isEqualTo("server one\n");
    assertThat(httpGet("/two/who").stdout()).isEqualTo("server two\n");
    assertThat(httpGet("/one/who").stdout()).isEqualTo("server one\n");

    assertThat(AccessLogs.awaitMatching(sidecar, l -> l.path().equals("/two/who"), TIMEOUT))
        .extracting(AccessLogLine::listener, AccessLogLine::downstreamLocalAddress, AccessLogLine::upstreamCluster,
            AccessLogLine::upstreamHost, AccessLogLine::method, AccessLogLine::responseCode, AccessLogLine::responseFlags,
            AccessLogLine::responseCodeDetails)
        .containsExactly("0.0.0.0_8080", server.ip() + ":8080", "two", server.ip() + ":8082", "GET", "200", "-", "via_upstream");
    Map<String, Long> after = client.stats();
    assertThat(delta(before, after, "listener.0.0.0.0_8080.downstream_cx_total")).isEqualTo(3);
    assertThat(delta(before, after, "cluster.one.upstream_rq_2xx")).isEqualTo(2);
    assertThat(delta(before, after, "cluster.two.upstream_rq_2xx")).isEqualTo(1);
    assertThat(delta(before, after, "cluster.PassthroughCluster.upstream_cx_total")).isZero();
  }

  @Test
  void aPathWithoutARouteGetsEnvoys404() {
    SystemCommand.Result r = httpGet("/three/who");

    assertThat(r.exitCode()).isEqualTo(1);
    assertThat(AccessLogs.awaitMatching(sidecar, l -> l.path().equals("/three/who"), TIMEOUT))
        .extracting(AccessLogLine::listener, AccessLogLine::responseCode, AccessLogLine::responseCodeDetails,
            AccessLogLine::responseFlags)
        .containsExactly("0.0.0.0_8080", "404", "route_not_found", "NR");
  }

  private static SystemCommand.Result httpGet(String path) {
    return app.run(APP, TIMEOUT, Artifacts.javaJar(sandboxJar, "http-get", "http://" + server.ip() + ":8080" + path));
  }
}
