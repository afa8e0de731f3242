package io.vmesh.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.sandbox.topology.Pod;
import io.vmesh.sandbox.topology.PodProcess;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SystemCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A pod's outbound capture and its sidecar run from a bootstrap whose virtualOutbound passes through
 * what no hand-off listener takes: the setup the HTTP namespace tests share.
 */
final class OutboundSidecar {

  static final String TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
  static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

  private OutboundSidecar() {
  }

  /**
   * A bootstrap with admin on :15000, virtualOutbound on :15001 and PassthroughCluster, plus
   * {@code listeners} and {@code clusters} (YAML list items, indented for {@code static_resources}).
   */
  static String bootstrap(String listeners, String clusters) {
    return """
        admin:
          address: { socket_address: { address: 127.0.0.1, port_value: 15000 } }
        static_resources:
          listeners:
          - name: virtualOutbound
            address: { socket_address: { address: 0.0.0.0, port_value: 15001 } }
            use_original_dst: true
            filter_chains:
            - filters: [ { name: tcp, typed_config: { "@type": "%s", stat_prefix: PassthroughCluster, cluster: PassthroughCluster } } ]
        %s
          clusters:
          - { name: PassthroughCluster, type: ORIGINAL_DST, lb_policy: CLUSTER_PROVIDED }
        %s
        """.formatted(TCP_PROXY, listeners.stripTrailing(), clusters.stripTrailing());
  }

  /** Writes the bootstrap, captures the pod's outbound traffic and starts the sidecar as uid 1337, ready. */
  static PodProcess start(Pod pod, Path proxyJar, Path bootstrapFile, String bootstrap, Duration timeout) throws IOException {
    Files.writeString(bootstrapFile, bootstrap);
    SystemCommand.Result capture = pod.run(RunAs.ROOT, timeout, Artifacts.javaJar(proxyJar, "capture"));
    assertThat(capture.exitCode()).as(capture.stderr()).isZero();
    PodProcess sidecar = pod.start("vmesh-proxy", RunAs.user(1337),
        Artifacts.javaJar(proxyJar, "run", "--bootstrap", bootstrapFile.toString()));
    sidecar.awaitLine(l -> l.contains("vmesh-proxy ready"), timeout);
    return sidecar;
  }
}
