package io.vmesh.sandbox;

import io.vmesh.proxy.accesslog.AccessLogLine;

import static io.vmesh.sandbox.PodClient.delta;
import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.sandbox.topology.Pod;
import io.vmesh.sandbox.topology.PodProcess;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * HTTP/2 cleartext through REDIRECT capture: the app's {@code curl --http2-prior-knowledge} to
 * {@code <server>:8080} (where nothing listens) is taken by virtualOutbound and handed to the
 * {@code 0.0.0.0_8080} listener, whose http_inspector sees the HTTP/2 preface and picks the {@code h2c}
 * chain: its http_connection_manager serves HTTP/2 and forwards over h2c to nginx (HTTP/2 only) on the
 * server pod. An HTTP/1.1 request to the same address takes the {@code http/1.1} chain to a Python
 * server instead; a gRPC request without a route gets Envoy's gRPC status.
 */
@ExtendWith(NeedsRootAndNetns.class)
class H2cRoutingIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final RunAs APP = RunAs.user(1000);

  private static Topology topology;
  private static Pod app;
  private static Pod server;
  private static PodProcess sidecar;
  private static PodClient client;

  @BeforeAll
  static void startMesh() throws Exception {
    topology = Topology.create();
    app = topology.addPod("app");
    server = topology.addPod("server");
    Path proxyJar = topology.stage(Jars.proxy());
    Path sandboxJar = topology.stage(Jars.sandbox());
    client = new PodClient(app, sandboxJar, TIMEOUT);
    Path www = Files.createDirectories(topology.workDir().resolve("www-h1").resolve("h1"));
    Files.writeString(www.resolve("who"), "http/1.1 origin\n");
    server.start("http-h1", RunAs.ROOT, List.of("/usr/bin/python3", "-u", "-m", "http.server", "8081", "--bind", server.ip(),
            "--directory", www.getParent().toString()))
        .awaitLine(l -> l.contains("Serving HTTP"), TIMEOUT);
    startNginx();
    sidecar = OutboundSidecar.start(app, proxyJar, topology.workDir().resolve("bin").resolve("h2c-bootstrap.yaml"),
        bootstrap(server.ip()), TIMEOUT);
  }

  /** nginx as an HTTP/2-only origin (h2c with prior knowledge), answering with the protocol and authority it saw. */
  private static void startNginx() throws IOException, InterruptedException {
    Path dir = Files.createDirectories(topology.workDir().resolve("nginx"));
    Files.createDirectories(dir.resolve("tmp"));
    Path conf = dir.resolve("nginx.conf");
    Files.writeString(conf, """
        daemon off;
        master_process off;
        user root;
        pid %1$s/nginx.pid;
        error_log stderr;
        events { }
        http {
          access_log off;
          client_body_temp_path %1$s/tmp;
          proxy_temp_path %1$s/tmp;
          fastcgi_temp_path %1$s/tmp;
          uwsgi_temp_path %1$s/tmp;
          scgi_temp_path %1$s/tmp;
          server {
            listen %2$s:8083 http2;
            location / { return 200 "h2 origin $server_protocol $host $http_x_forwarded_for\\n"; }
          }
        }
        """.formatted(dir, server.ip()));
    server.start("nginx-h2", RunAs.ROOT, List.of("/usr/sbin/nginx", "-e", "stderr", "-p", dir.toString(), "-c", conf.toString()));
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (server.run(RunAs.ROOT, TIMEOUT, List.of("/usr/bin/curl", "-sf", "--http2-prior-knowledge", "-o", "/dev/null",
        "http://" + server.ip() + ":8083/")).exitCode() != 0) {
      assertThat(System.nanoTime()).as("nginx did not answer on :8083").isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  @AfterAll
  static void tearDown() {
    if (topology != null) {
      topology.close();
    }
  }

  static String bootstrap(String serverIp) {
    String inspector = "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector";
    String options = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
    return OutboundSidecar.bootstrap("""
          - name: 0.0.0.0_8080
            address: { socket_address: { address: 0.0.0.0, port_value: 8080 } }
            bind_to_port: false
            listener_filters: [ { name: envoy.filters.listener.http_inspector, typed_config: { "@type": "%3$s" } } ]
            filter_chains:
            - name: h2c
              filter_chain_match: { application_protocols: [ h2c ] }
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": "%2$s"
                  stat_prefix: outbound_h2c_8080
                  codec_type: HTTP2
                  route_config:
                    virtual_hosts:
                    - { name: server, domains: [ "%1$s:8080" ], routes: [ { match: { prefix: /h2/ }, route: { cluster: h2-origin } } ] }
            - name: http1
              filter_chain_match: { application_protocols: [ http/1.1 ] }
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": "%2$s"
                  stat_prefix: outbound_http1_8080
                  route_config:
                    virtual_hosts:
                    - { name: server, domains: [ "%1$s:8080" ], routes: [ { match: { prefix: /h1/ }, route: { cluster: h1-origin } } ] }
        """.formatted(serverIp, OutboundSidecar.HCM, inspector), """
          - name: h2-origin
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": "%2$s"
                explicit_http_config: { http2_protocol_options: {} }
            load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: %1$s, port_value: 8083 } } } } ] } ] }
          - { name: h1-origin, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: %1$s, port_value: 8081 } } } } ] } ] } }
        """.formatted(serverIp, options));
  }

  @Test
  void h2cPriorKnowledgeTakesTheH2cChainToAnHttp2Origin() {
    Map<String, Long> before = client.stats();

    // one URL per curl: curl 7.88 fails a second transfer on a reused prior-knowledge connection (nginx alone too)
    for (String path : List.of("/h2/a", "/h2/b")) {
      SystemCommand.Result r = curl("--http2-prior-knowledge", "-w", "%{http_version}\\n", url(path));
      assertThat(r.exitCode()).as(r.stderr()).isZero();
      assertThat(r.stdout()).isEqualTo("h2 origin HTTP/2.0 " + server.ip() + " " + app.ip() + "\n2\n");
    }

    assertThat(AccessLogs.awaitMatching(sidecar, l -> l.path().equals("/h2/b"), TIMEOUT))
        .extracting(AccessLogLine::listener, AccessLogLine::downstreamLocalAddress, AccessLogLine::upstreamCluster,
            AccessLogLine::method, AccessLogLine::protocol, AccessLogLine::responseCode, AccessLogLine::responseFlags)
        .containsExactly("0.0.0.0_8080", server.ip() + ":8080", "h2-origin", "GET", "HTTP/2", "200", "-");
    Map<String, Long> after = client.stats();
    assertThat(delta(before, after, "listener.0.0.0.0_8080.downstream_cx_total")).isEqualTo(2);
    assertThat(delta(before, after, "cluster.h2-origin.upstream_rq_2xx")).isEqualTo(2);
    // the upstream HTTP/2 connection outlives the downstream ones (per event loop: at most one each)
    assertThat(delta(before, after, "cluster.h2-origin.upstream_cx_total")).isLessThanOrEqualTo(2);
  }

  @Test
  void http1ToTheSameAddressTakesTheHttp1Chain() {
    SystemCommand.Result r = curl("--http1.1", "-w", "%{http_version}\\n", url("/h1/who"));

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).isEqualTo("http/1.1 origin\n1.1\n");
    assertThat(AccessLogs.awaitMatching(sidecar, l -> l.path().equals("/h1/who"), TIMEOUT))
        .extracting(AccessLogLine::upstreamCluster, AccessLogLine::protocol, AccessLogLine::responseCode)
        .containsExactly("h1-origin", "HTTP/1.1", "200");
  }

  @Test
  void aGrpcCallWithoutARouteGetsUnimplementedAsAGrpcStatus() {
    SystemCommand.Result r = curl("--http2-prior-knowledge", "-i", "-X", "POST", "-H", "content-type: application/grpc",
        "-H", "te: trailers", "--data-binary", "", url("/pkg.Service/Method"));

    assertThat(r.exitCode()).as(r.stderr()).isZero();
    assertThat(r.stdout()).startsWith("HTTP/2 200").contains("grpc-status: 12", "grpc-message: Not Found");
    assertThat(AccessLogs.awaitMatching(sidecar, l -> l.path().equals("/pkg.Service/Method"), TIMEOUT))
        .extracting(AccessLogLine::responseCode, AccessLogLine::responseCodeDetails, AccessLogLine::responseFlags)
        .containsExactly("200", "route_not_found", "NR");
  }

  private static String url(String path) {
    return "http://" + server.ip() + ":8080" + path;
  }

  private static SystemCommand.Result curl(String... args) {
    List<String> command = new ArrayList<>(List.of("/usr/bin/curl", "-sS", "--max-time", "20"));
    command.addAll(List.of(args));
    return app.run(APP, TIMEOUT, command);
  }
}
