package io.vmesh.proxy.cluster;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.SocketAddress;
import java.net.InetSocketAddress;

/**
 * Envoy's {@code PassthroughCluster}: an {@code ORIGINAL_DST} cluster that dials whatever address the
 * application dialled. The proxy's own uid is exempt from capture, so this dial leaves the pod as is.
 */
public final class PassthroughCluster {

  public static final String NAME = "PassthroughCluster";
  static final int CONNECT_TIMEOUT_MILLIS = 10_000;

  private final NetClient client;

  /** Create it on the event loop that accepts the connections it serves, so both sockets share that loop. */
  public PassthroughCluster(Vertx vertx) {
    this.client = vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout(CONNECT_TIMEOUT_MILLIS)
        .setTcpNoDelay(true));
  }

  public Future<NetSocketInternal> connect(InetSocketAddress originalDst) {
    SocketAddress target = SocketAddress.inetSocketAddress(originalDst.getPort(), originalDst.getAddress().getHostAddress());
    return client.connect(target).map(NetSocketInternal.class::cast);
  }

  public Future<Void> close() {
    return client.close();
  }
}
