package io.vmesh.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.vmesh.proxy.xds.SidecarBootstrap;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DefaultBootstrapTest {

  @Test
  void theBuiltInBootstrapIsTheDocumentedYaml() throws Exception {
    String yaml;
    try (InputStream in = DefaultBootstrap.class.getResourceAsStream(DefaultBootstrap.YAML)) {
      yaml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    assertThat(DefaultBootstrap.bootstrap()).isEqualTo(BootstrapLoader.parse(yaml, false));
  }

  @Test
  void theBootstrapsVmeshBuildsItselfSetOnlySupportedFields() throws Exception {
    // RunCommand skips the SupportedFields walk for these: this is what makes that sound
    SupportedFields.check(DefaultBootstrap.bootstrap(), "");
    Bootstrap sidecar = SidecarBootstrap.fromEnvironment(DefaultBootstrap.bootstrap(), Map.of(
        SidecarBootstrap.XDS_ADDRESS, "vmesh-operator.vmesh-system.svc:15012", SidecarBootstrap.XDS_CA_FILE, "/etc/vmesh/ca.pem",
        "INSTANCE_IP", "10.0.0.7", "POD_NAME", "web-1", "POD_NAMESPACE", "shop", "SERVICE_ACCOUNT", "web")).orElseThrow();
    SupportedFields.check(sidecar, "");
    // nor does it read their typed_extension_protocol_options (the map builds cluster.proto's descriptors)
    for (Bootstrap b : new Bootstrap[] {DefaultBootstrap.bootstrap(), sidecar}) {
      assertThat(b.getStaticResources().getClustersList()).allSatisfy(c -> assertThat(c.getTypedExtensionProtocolOptionsMap()).isEmpty());
    }
  }

  @Test
  void buildingTheBuiltInOneSkipsOnlyTheFieldWalk() throws Exception {
    RuntimeConfig checked = RuntimeConfigBuilder.build(DefaultBootstrap.bootstrap(), Clock.systemUTC());
    RuntimeConfig builtIn = RuntimeConfigBuilder.buildBuiltIn(DefaultBootstrap.bootstrap(), Clock.systemUTC());
    assertThat(builtIn.listeners().keySet()).containsExactlyElementsOf(checked.listeners().keySet());
    assertThat(builtIn.clusters().keySet()).containsExactlyElementsOf(checked.clusters().keySet());
    assertThat(builtIn.admin()).isEqualTo(checked.admin());

    // the semantic checks still run
    Bootstrap badAdmin = DefaultBootstrap.bootstrap().toBuilder().setNode(Node.getDefaultInstance())
        .setAdmin(DefaultBootstrap.bootstrap().getAdmin().toBuilder().setAddress(
            DefaultBootstrap.bootstrap().getAdmin().getAddress().toBuilder().setSocketAddress(
                DefaultBootstrap.bootstrap().getAdmin().getAddress().getSocketAddress().toBuilder().setAddress("localhost"))))
        .build();
    assertThatThrownBy(() -> RuntimeConfigBuilder.buildBuiltIn(badAdmin, Clock.systemUTC()))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems())
            .containsExactly("admin.address.socket_address.address: 'localhost' is not an IP address"));
  }

  @Test
  void packWritesTheTypeUrlAnyPackWould() throws Exception {
    for (String url : SupportedFields.typedConfigTypes()) {
      Message type = SupportedFields.unpack(Any.newBuilder().setTypeUrl(url).build()).orElseThrow();
      assertThat(url).isEqualTo("type.googleapis.com/" + type.getDescriptorForType().getFullName());
      assertThat(SupportedFields.pack(type)).isEqualTo(Any.pack(type));
    }
    TcpProxy tcp = TcpProxy.newBuilder().setStatPrefix("s").setCluster("c").build();
    assertThat(SupportedFields.pack(tcp)).isEqualTo(Any.pack(tcp));
    assertThat(SupportedFields.pack(UpstreamTlsContext.getDefaultInstance())).isEqualTo(Any.pack(UpstreamTlsContext.getDefaultInstance()));
    assertThatThrownBy(() -> SupportedFields.pack(Cluster.getDefaultInstance()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not a supported typed_config");
  }
}
