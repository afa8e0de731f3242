package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which requests ask to upgrade, and Envoy's table of when the connection manager and the route enable it. */
class UpgradeTunnelTest {

  private static HttpRequest request(String connection, String upgrade) {
    HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
    if (connection != null) {
      r.headers().set("Connection", connection);
    }
    if (upgrade != null) {
      r.headers().set("Upgrade", upgrade);
    }
    return r;
  }

  @Test
  void anUpgradeNeedsConnectionUpgradeAndAnUpgradeOtherThanH2c() {
    assertThat(UpgradeTunnel.requested(request("Upgrade", "websocket"))).isEqualTo("websocket");
    assertThat(UpgradeTunnel.requested(request("keep-alive, Upgrade", "WebSocket"))).as("as browsers send it").isEqualTo("websocket");
    assertThat(UpgradeTunnel.requested(request("upgrade", "Test/1"))).isEqualTo("test/1");
    assertThat(UpgradeTunnel.requested(request(null, "websocket"))).as("no Connection: upgrade").isNull();
    assertThat(UpgradeTunnel.requested(request("keep-alive", "websocket"))).isNull();
    assertThat(UpgradeTunnel.requested(request("Upgrade", null))).isNull();
    assertThat(UpgradeTunnel.requested(request("Upgrade, HTTP2-Settings", "h2c"))).as("Envoy serves h2c upgrades as HTTP/1.1").isNull();
  }

  @Test
  void theRoutesSettingWinsElseTheConnectionManagersElseNone() {
    // Envoy's table: HCM enabled x route enabled
    assertThat(UpgradeTunnel.enabled(Map.of("websocket", true), Map.of(), "websocket")).isTrue();
    assertThat(UpgradeTunnel.enabled(Map.of("websocket", true), Map.of("websocket", false), "websocket")).isFalse();
    assertThat(UpgradeTunnel.enabled(Map.of("websocket", false), Map.of("websocket", true), "websocket")).isTrue();
    assertThat(UpgradeTunnel.enabled(Map.of("websocket", false), Map.of(), "websocket")).isFalse();
    assertThat(UpgradeTunnel.enabled(Map.of(), Map.of("websocket", true), "websocket")).isTrue();
    assertThat(UpgradeTunnel.enabled(Map.of(), Map.of(), "websocket")).as("configured nowhere").isFalse();
    assertThat(UpgradeTunnel.enabled(Map.of("websocket", true), Map.of(), "spdy/3")).isFalse();
  }
}
