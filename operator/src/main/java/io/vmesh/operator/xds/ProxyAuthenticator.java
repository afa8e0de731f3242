package io.vmesh.operator.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.vertx.grpc.common.GrpcStatus;

/** Decides which proxy a stream belongs to, from its bearer token and its {@code node}; blocking (runs on a worker). */
public interface ProxyAuthenticator {

  /** The proxy the token proves to be, which is the node's; throws {@link Refusal} with the gRPC status to answer. */
  ProxyId authenticate(String bearerToken, Node node) throws Refusal;

  /** Why a stream is refused, with the gRPC status that says so. */
  final class Refusal extends Exception {
    private final transient GrpcStatus status;

    public Refusal(GrpcStatus status, String message) {
      super(message);
      this.status = status;
    }

    public GrpcStatus status() {
      return status;
    }
  }
}
