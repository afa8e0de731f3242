package io.vmesh.proxy.cluster;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.SocketAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Dials upstream connections for one event loop: one Vert.x client per (source address, connect
 * timeout), created on that loop so downstream and upstream sockets share it. The proxy's own uid is
 * exempt from capture, so what it dials leaves the pod as is; InboundPassthroughCluster binds source
 * 127.0.0.6, which the capture rules never take again.
 */
public final class UpstreamConnector {

  private final Vertx vertx;
  // only touched on the owning event loop
  private final Map<String, NetClient> clients = new HashMap<>();

  public UpstreamConnector(Vertx vertx) {
    this.vertx = vertx;
  }

  public Future<NetSocketInternal> connect(ClusterConfig cluster, InetSocketAddress target) {
    String source = cluster.sourceAddressFor(target.getAddress()).orElse(null);
    NetClient client = clients.computeIfAbsent(source + "/" + cluster.connectTimeoutMillis(), k -> {
      NetClientOptions options = new NetClientOptions().setConnectTimeout(cluster.connectTimeoutMillis()).setTcpNoDelay(true);
      if (source != null) {
        options.setLocalAddress(source);
      }
      return vertx.createNetClient(options);
    });
    String host = target.getAddress().getHostAddress();
    return client.connect(SocketAddress.inetSocketAddress(target.getPort(), host)).map(NetSocketInternal.class::cast);
  }

  public Future<Void> close() {
    List<Future<Void>> closing = new ArrayList<>();
    clients.values().forEach(c -> closing.add(c.close()));
    return Future.all(closing).mapEmpty();
  }
}
