package io.vmesh.operator.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.vertx.core.buffer.Buffer;
import io.vertx.grpc.server.GrpcServerRequest;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ADS stream, state of the world: a request with no nonce subscribes to its type, and each subscribed type is sent
 * whole when its version differs from what was last sent on this stream. The response bodies are serialized once for
 * every stream ({@link EncodedResources.TypeResources#sotwResponse}).
 */
final class SotwStream extends AdsStream<DiscoveryRequest, Buffer> {

  private static final Logger LOG = LoggerFactory.getLogger(SotwStream.class);

  private final Set<String> subscribed = new HashSet<>();

  SotwStream(AdsServer server, GrpcServerRequest<DiscoveryRequest, Buffer> request, String token) {
    super(server, request, token);
  }

  @Override
  Node node(DiscoveryRequest request) {
    return request.getNode();
  }

  @Override
  void handle(DiscoveryRequest r, boolean pushNow) {
    String type = r.getTypeUrl();
    if (!served(type)) {
      return;
    }
    if (r.getResponseNonce().isEmpty()) {
      subscribed.add(type);
      if (pushNow) {
        push();
      }
      return;
    }
    answered(type, r.getResponseNonce(), r.getVersionInfo(), r.hasErrorDetail() ? r.getErrorDetail().getMessage() : null);
  }

  @Override
  void push() {
    if (snapshot == null) {
      return;
    }
    boolean changed = false;
    for (String type : ProxySnapshot.PUSH_ORDER) {
      EncodedResources.TypeResources resources = snapshot.type(type);
      if (!subscribed.contains(type) || resources.version().equals(types.getOrDefault(type, TypeSync.NOT_SENT).sentVersion())) {
        continue;
      }
      String nonce = server.nextNonce();
      request.response().write(resources.sotwResponse(nonce));
      sent(type, resources.version(), nonce, resources.hashes());
      LOG.debug("sent {} {} version {} ({} resources)", proxy, shortType(type), resources.version(), resources.hashes().size());
      changed = true;
    }
    if (changed) {
      publish();
    }
  }
}
