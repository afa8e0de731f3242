package io.vmesh.operator.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The HTTP connection managers the operator generates carry Istio's settings, WebSocket upgrades included. */
class NetworkFiltersTest {

  @Test
  void everyGeneratedConnectionManagerAllowsWebSocketUpgradesAsIstiosDo() throws Exception {
    for (Filter filter : List.of(NetworkFilters.httpByRds("outbound_0.0.0.0_80", "80"),
        NetworkFilters.httpInline("inbound_0.0.0.0_8080", RouteConfiguration.newBuilder().setName("inbound|8080||").build()))) {
      HttpConnectionManager hcm = filter.getTypedConfig().unpack(HttpConnectionManager.class);
      assertThat(hcm.getUpgradeConfigsList()).as(hcm.getStatPrefix())
          .containsExactly(HttpConnectionManager.UpgradeConfig.newBuilder().setUpgradeType("websocket").build());
      assertThat(hcm.getCodecType()).isEqualTo(HttpConnectionManager.CodecType.AUTO);
    }
  }
}
