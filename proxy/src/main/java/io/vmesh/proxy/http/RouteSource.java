package io.vmesh.proxy.http;

import io.vmesh.proxy.config.RuntimeConfig;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Where the requests of one downstream connection find their routes. Inline routes belong to the
 * listener, so they stay those the connection was accepted with (a new listener version serves new
 * connections). RDS routes are resolved at each request's headers, as Envoy's connection manager does:
 * the table of the filter's {@code route_config_name} in the configuration current then, together with
 * that configuration's clusters. A request keeps what it resolved until it ends. When the current
 * configuration has no table of that name (the listener was removed and its connections drain), the
 * last one this connection used goes on serving. Used on the connection's event loop only.
 */
final class RouteSource {

  /** The routes one request follows and the configuration whose clusters they name. */
  record Routing(RuntimeConfig config, RouteTable table) {
  }

  private final HttpConnectionManagerConfig hcm;
  private final Supplier<RuntimeConfig> current;
  private Routing last;

  RouteSource(HttpConnectionManagerConfig hcm, RuntimeConfig accepted, Supplier<RuntimeConfig> current) {
    this.hcm = hcm;
    this.current = current;
    this.last = new Routing(accepted, hcm.routes());
  }

  /** The routing for a request whose headers just arrived. */
  Routing next() {
    if (hcm.rdsName() == null) {
      return last;
    }
    RuntimeConfig now = current.get();
    if (now != last.config()) {
      Optional<RouteTable> table = now.routeTable(hcm.rdsName());
      if (table.isPresent()) {
        last = new Routing(now, table.get());
      }
    }
    return last;
  }
}
