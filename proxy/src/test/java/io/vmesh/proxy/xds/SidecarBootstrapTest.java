package io.vmesh.proxy.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.vmesh.proxy.config.AdsConfig;
import io.vmesh.proxy.config.ConfigException;
import io.vmesh.proxy.config.DefaultBootstrap;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The injected sidecar's bootstrap from its environment: the built-in one plus ADS, with Istio's node id. */
class SidecarBootstrapTest {

  private static final Map<String, String> POD = Map.of("VMESH_XDS_ADDRESS", "vmesh-operator.vmesh-system.svc:15010",
      "POD_NAME", "web-1", "POD_NAMESPACE", "shop", "INSTANCE_IP", "10.88.0.10", "SERVICE_ACCOUNT", "web");

  @Test
  void withoutTheAddressTheBuiltInBootstrapRunsAsItIs() throws Exception {
    assertThat(SidecarBootstrap.fromEnvironment(DefaultBootstrap.bootstrap(), Map.of("POD_NAME", "web-1"))).isEmpty();
  }

  @Test
  void theAddressAddsAdsAndTheNodeTheOperatorParses() throws Exception {
    Bootstrap b = SidecarBootstrap.fromEnvironment(DefaultBootstrap.bootstrap(), POD).orElseThrow();

    assertThat(b.getNode().getId()).isEqualTo("sidecar~10.88.0.10~web-1.shop~shop.svc.cluster.local");
    assertThat(b.getNode().getMetadata().getFieldsMap().get("SERVICE_ACCOUNT").getStringValue()).isEqualTo("web");
    RuntimeConfig config = RuntimeConfigBuilder.build(b, Clock.systemUTC());
    assertThat(config.ads()).hasValue(new AdsConfig("xds-grpc",
        List.of(new AdsConfig.Endpoint("vmesh-operator.vmesh-system.svc", 15010)), Optional.empty(), 1000));
    // the operator sends virtualOutbound, virtualInbound and the passthrough clusters: nothing static may take their
    // names, so nothing listens and readiness waits until the first config arrives
    assertThat(config.listeners()).isEmpty();
    assertThat(b.getStaticResources().getListenersList()).isEmpty();
    assertThat(b.getStaticResources().getClustersList()).extracting(Cluster::getName).containsExactly("xds-grpc");
    assertThat(config.complete()).isFalse();
    assertThat(b.getStaticResources().getClustersList()).filteredOn(c -> c.getName().equals("xds-grpc"))
        .singleElement().extracting(Cluster::getType).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
  }

  @Test
  void anIpAddressIsStaticAndACaFileMakesItTls() throws Exception {
    Map<String, String> env = new java.util.HashMap<>(POD);
    env.put("VMESH_XDS_ADDRESS", "[fd00::1]:15012");
    env.put("VMESH_XDS_CA_FILE", "/var/run/secrets/vmesh/ca.crt");

    RuntimeConfig config = RuntimeConfigBuilder.build(
        SidecarBootstrap.fromEnvironment(DefaultBootstrap.bootstrap(), env).orElseThrow(), Clock.systemUTC());

    assertThat(config.ads()).hasValue(new AdsConfig("xds-grpc", List.of(new AdsConfig.Endpoint("fd00::1", 15012)),
        Optional.of("/var/run/secrets/vmesh/ca.crt"), 1000));
  }

  @Test
  void aMissingPodVariableOrABadAddressIsNamed() {
    assertThatThrownBy(() -> SidecarBootstrap.fromEnvironment(DefaultBootstrap.bootstrap(),
        Map.of("VMESH_XDS_ADDRESS", "operator", "POD_NAME", "web-1", "POD_NAMESPACE", "shop")))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "env INSTANCE_IP is required with VMESH_XDS_ADDRESS (the injector sets it from the downward API)",
            "env VMESH_XDS_ADDRESS: 'operator' is not host:port"));
  }
}
