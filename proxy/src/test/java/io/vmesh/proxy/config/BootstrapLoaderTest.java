package io.vmesh.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapLoaderTest {

  @TempDir
  Path dir;

  @Test
  void yamlAndJsonFilesGiveTheSameBootstrap() throws Exception {
    Bootstrap yaml = BootstrapLoader.load(resource("static.yaml"));
    Bootstrap json = BootstrapLoader.load(resource("static.json"));

    assertThat(json).isEqualTo(yaml);
    assertThat(yaml.getNode().getCluster()).isEqualTo("app.default");
    assertThat(yaml.getStaticResources().getListenersCount()).isEqualTo(3);
    assertThat(yaml.getStaticResources().getListeners(1).getBindToPort().getValue()).isFalse();
    TcpProxy tcp = yaml.getStaticResources().getListeners(1).getFilterChains(0).getFilters(0).getTypedConfig().unpack(TcpProxy.class);
    assertThat(tcp.getCluster()).isEqualTo("outbound|7000||echo");
    assertThat(yaml.getStaticResources().getClusters(2).getConnectTimeout().getNanos()).isEqualTo(500_000_000);
  }

  @Test
  void theBuiltInBootstrapIsAValidEnvoyBootstrap() throws Exception {
    RuntimeConfig config = RuntimeConfigBuilder.build(DefaultBootstrap.bootstrap(), java.time.Clock.systemUTC());

    assertThat(config.listeners()).containsOnlyKeys("virtualOutbound", "virtualInbound");
    assertThat(config.listeners().get("virtualOutbound").useOriginalDst()).isTrue();
    assertThat(config.listeners().get("virtualInbound").readsOriginalDst()).isTrue();
    assertThat(config.clusters().get("InboundPassthroughCluster").sourceAddress()).contains("127.0.0.6");
    assertThat(config.admin()).hasValueSatisfying(a -> assertThat(a.getPort()).isEqualTo(15000));
  }

  @Test
  void aFieldVmeshDoesNotImplementIsRefusedByItsPath() throws Exception {
    Path file = write("unsupported.yaml", """
        static_resources:
          listeners:
          - name: l
            address: { socket_address: { address: 0.0.0.0, port_value: 9000 } }
            per_connection_buffer_limit_bytes: 1024
            filter_chains:
            - filters:
              - name: tcp
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                  stat_prefix: x
                  cluster: c
                  max_connect_attempts: 3
        """);

    assertThatThrownBy(() -> BootstrapLoader.load(file))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactlyInAnyOrder(
            "static_resources.listeners[0].per_connection_buffer_limit_bytes: field not supported by vmesh-proxy "
                + "(envoy.config.listener.v3.Listener supports name, address, filter_chains, default_filter_chain, "
                + "use_original_dst, bind_to_port, listener_filters, listener_filters_timeout, "
                + "continue_on_listener_filters_timeout, traffic_direction, access_log, additional_addresses; see docs/proxy-config.md)",
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.max_connect_attempts: field not supported "
                + "by vmesh-proxy (envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy supports stat_prefix, cluster, "
                + "weighted_clusters, idle_timeout, access_log; see docs/proxy-config.md)"));
  }

  @Test
  void aFieldThatDoesNotExistIsNamedWithItsPathInEitherSpelling() throws Exception {
    Path file = write("typo.json", """
        {"staticResources": {"clusters": [{"name": "c", "loadAssignment": {"clusterName": "c", "endpoints": [
          {"lbEndpoints": [{"endpoint": {"adress": {}}}]}]}}]}}
        """);

    assertThatThrownBy(() -> BootstrapLoader.load(file))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.adress: "
                + "no such field in envoy.config.endpoint.v3.Endpoint"));
  }

  @Test
  void aTypedConfigOfAnUnsupportedTypeIsNamed() throws Exception {
    Path file = write("limit.yaml", """
        static_resources:
          listeners:
          - name: l
            filter_chains:
            - filters:
              - name: envoy.filters.network.connection_limit
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit
                  stat_prefix: limit
        """);

    assertThatThrownBy(() -> BootstrapLoader.load(file))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config: typed_config type "
                + "type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit "
                + "is not supported by vmesh-proxy"));
  }

  @Test
  void aWrongValueTypeAndBrokenYamlAreRefused() throws Exception {
    Path wrongType = write("port.yaml", "admin: { address: { socket_address: { address: 127.0.0.1, port_value: lots } } }\n");
    Path broken = write("broken.yaml", "static_resources: [\n");

    assertThatThrownBy(() -> BootstrapLoader.load(wrongType)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("not a valid envoy.config.bootstrap.v3.Bootstrap").hasMessageContaining("lots");
    assertThatThrownBy(() -> BootstrapLoader.load(broken)).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("(root): not valid YAML");
    assertThatThrownBy(() -> BootstrapLoader.load(dir.resolve("missing.yaml"))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot read");
  }

  @Test
  void aKeyGivenTwiceIsRefusedRatherThanHalfIgnored() throws Exception {
    Path yaml = write("twice.yaml", "node:\n  id: a\n  id: b\n");
    Path json = write("twice.json", "{\"node\": {\"id\": \"a\", \"id\": \"b\"}}");

    assertThatThrownBy(() -> BootstrapLoader.load(yaml)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("not valid YAML").hasMessageContaining("Duplicate field 'id'");
    assertThatThrownBy(() -> BootstrapLoader.load(json)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("not valid JSON").hasMessageContaining("Duplicate field 'id'");
  }

  @Test
  void plainYamlScalarsAreReadAsJsonWouldReadThem() throws Exception {
    // YAML 1.1 would make "yes" a boolean and the date a timestamp; Envoy (and Jackson before) keep them strings
    Bootstrap b = BootstrapLoader.parse("""
        node: { id: yes, cluster: 2024-01-01 }
        admin: { address: &local { socket_address: { address: 127.0.0.1, port_value: "15000" } } }
        static_resources:
          listeners:
          - { name: 1.50, address: *local, filter_chains: [] }
          - { name: 007, address: { socket_address: { address: 127.0.0.1, port_value: 1e3 } } }
        """, false);

    assertThat(b.getNode().getId()).isEqualTo("yes");
    assertThat(b.getNode().getCluster()).isEqualTo("2024-01-01");
    assertThat(b.getStaticResources().getListeners(0).getName()).isEqualTo("1.50");
    assertThat(b.getStaticResources().getListeners(1).getName()).isEqualTo("007");
    assertThat(b.getStaticResources().getListeners(1).getAddress().getSocketAddress().getPortValue()).isEqualTo(1000);
    assertThat(b.getAdmin().getAddress().getSocketAddress().getPortValue()).isEqualTo(15000);
    assertThat(b.getStaticResources().getListeners(0).getAddress()).isEqualTo(b.getAdmin().getAddress());
  }

  @Test
  void textThatIsNotOneTreeIsRefusedWithWhere() {
    assertThatThrownBy(() -> BootstrapLoader.parse("node: &n { id: a, metadata: *n }\n", false))
        .isInstanceOf(ConfigException.class).hasMessageContaining("not valid YAML").hasMessageContaining("line 1");
    assertThatThrownBy(() -> BootstrapLoader.parse("node: {id: a}\n---\nnode: {id: b}\n", false))
        .isInstanceOf(ConfigException.class).hasMessageContaining("not valid YAML").hasMessageContaining("line 2");
    assertThatThrownBy(() -> BootstrapLoader.parse("{\"node\": {\"id\": \"a\"}} {}", true))
        .isInstanceOf(ConfigException.class).hasMessageContaining("not valid JSON").hasMessageContaining("line 1");
    assertThatThrownBy(() -> BootstrapLoader.parse("{\"node\": {id: a}}", true))
        .isInstanceOf(ConfigException.class).hasMessageContaining("not valid JSON");
    assertThatThrownBy(() -> BootstrapLoader.parse("[]", true))
        .isInstanceOf(ConfigException.class).hasMessageContaining("must be a JSON object");
    assertThatThrownBy(() -> BootstrapLoader.parse("", false))
        .isInstanceOf(ConfigException.class).hasMessageContaining("must be a YAML object");
  }

  private Path write(String name, String text) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, text);
    return file;
  }

  static Path resource(String name) throws URISyntaxException {
    return Path.of(BootstrapLoaderTest.class.getResource("/bootstrap/" + name).toURI());
  }
}
