package io.vmesh.operator.xds;

import io.envoyproxy.envoy.config.core.v3.ControlPlane;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.vertx.core.Context;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxy's ADS stream, state of the world. Everything here runs on the stream's event loop. The first request's
 * {@code node} and the bearer token are checked on a worker, requests being queued meanwhile; then each subscribed
 * type is sent when its version differs from what was last sent on this stream, in push order, and each request with
 * the latest nonce of its type is an ACK or (with {@code error_detail}) a NACK. Requests carrying an older nonce are
 * ignored: the proxy answers a response that has been superseded.
 */
final class AdsStream {

  private static final Logger LOG = LoggerFactory.getLogger(AdsStream.class);

  /** What authentication yields: the proxy and its current config, if the source knows the pod. */
  record Opened(ProxyId proxy, Optional<VersionedSnapshot> snapshot) {
  }

  private final AdsServer server;
  private final GrpcServerRequest<DiscoveryRequest, DiscoveryResponse> request;
  private final String token;
  private final Context context;
  private final Queue<DiscoveryRequest> waiting = new ArrayDeque<>();
  private final Set<String> subscribed = new HashSet<>();
  private final Map<String, TypeSync> types = new LinkedHashMap<>();
  private boolean authenticating;
  private boolean active = true;
  private ProxyId proxy;
  private String nodeId;
  private String agent;
  private Instant connectedAt;
  private VersionedSnapshot snapshot;
  private ProxySync published;

  AdsStream(AdsServer server, GrpcServerRequest<DiscoveryRequest, DiscoveryResponse> request, String token) {
    this.server = server;
    this.request = request;
    this.token = token;
    this.context = server.vertx().getOrCreateContext();
  }

  void start() {
    request.handler(this::received);
    request.endHandler(v -> {
      close();
      if (active) {
        request.response().end();
      }
    });
    request.exceptionHandler(e -> {
      LOG.debug("stream of {} failed: {}", proxy, e.toString());
      close();
    });
    request.errorHandler(e -> close());
  }

  private void received(DiscoveryRequest r) {
    if (proxy == null) {
      waiting.add(r);
      if (!authenticating) {
        authenticating = true;
        server.vertx().executeBlocking(() -> server.authenticate(token, r.getNode()), false).onComplete(done -> {
          if (done.failed()) {
            refuse(done.cause());
            return;
          }
          opened(done.result());
        });
      }
      return;
    }
    handle(r, true);
  }

  private void refuse(Throwable cause) {
    GrpcStatus status = cause instanceof ProxyAuthenticator.Refusal refusal ? refusal.status() : GrpcStatus.INTERNAL;
    String node = waiting.isEmpty() ? "?" : waiting.peek().getNode().getId();
    LOG.info("refused the ADS stream of node {}: {} {}", node, status.name(), cause.getMessage());
    if (!(cause instanceof ProxyAuthenticator.Refusal)) {
      LOG.warn("authenticating node {} failed", node, cause);
    }
    active = false;
    waiting.clear();
    request.response().status(status).statusMessage(String.valueOf(cause.getMessage())).end();
  }

  private void opened(Opened opened) {
    if (!active) {
      return;
    }
    proxy = opened.proxy();
    var node = waiting.peek().getNode();
    nodeId = node.getId();
    agent = node.getUserAgentName().isEmpty() ? "" : node.getUserAgentName() + "/" + node.getUserAgentVersion();
    connectedAt = server.clock().instant();
    snapshot = opened.snapshot().orElse(null);
    LOG.info("{} connected (node {}){}", proxy, nodeId, snapshot == null ? "; no config for it yet" : "");
    server.register(proxy, this);
    publish();
    // every request that came during the review is taken in before anything is sent, so the answers go in push order
    while (!waiting.isEmpty() && active) {
      handle(waiting.poll(), false);
    }
    push();
  }

  private void handle(DiscoveryRequest r, boolean pushNow) {
    if (!active) {
      return;
    }
    if (r.hasNode() && !r.getNode().getId().isEmpty() && !r.getNode().getId().equals(nodeId)) {
      active = false;
      request.response().status(GrpcStatus.INVALID_ARGUMENT)
          .statusMessage("node.id changed on the stream from " + nodeId + " to " + r.getNode().getId()).end();
      close();
      return;
    }
    String type = r.getTypeUrl();
    if (!ProxySnapshot.PUSH_ORDER.contains(type)) {
      LOG.debug("{} asked for {}, a type vmesh does not serve", proxy, type);
      return;
    }
    String nonce = r.getResponseNonce();
    if (nonce.isEmpty()) {
      subscribed.add(type);
      if (pushNow) {
        push();
      }
      return;
    }
    TypeSync sent = types.get(type);
    if (sent == null || !nonce.equals(sent.nonce())) {
      LOG.debug("{} answered {} nonce {}, not the latest: ignored", proxy, shortType(type), nonce);
      return;
    }
    if (r.hasErrorDetail()) {
      String error = r.getErrorDetail().getMessage();
      LOG.warn("{} rejected {} version {}: {}", proxy, shortType(type), sent.sentVersion(), error);
      // the proxy runs what it last acknowledged; the NACKed version is not sent again, only a newer one will be
      types.put(type, new TypeSync(SyncState.REJECTED, sent.sentVersion(), sent.nonce(), sent.sentAt(), sent.sentResources(),
          sent.ackedVersion(), sent.ackedResources(), error));
    } else {
      types.put(type, new TypeSync(SyncState.SYNCED, sent.sentVersion(), sent.nonce(), sent.sentAt(), sent.sentResources(),
          r.getVersionInfo(), r.getVersionInfo().equals(sent.sentVersion()) ? sent.sentResources() : sent.ackedResources(), null));
    }
    publish();
  }

  /** A new snapshot for this proxy, built off the event loop. */
  void update(VersionedSnapshot next) {
    context.runOnContext(v -> {
      if (active && proxy != null) {
        snapshot = next;
        push();
      }
    });
  }

  /** A newer stream of the same proxy took over: this one stops reporting and ends. */
  void replaced() {
    context.runOnContext(v -> {
      if (active) {
        active = false;
        request.response().status(GrpcStatus.ABORTED).statusMessage("replaced by a newer stream of the same proxy").end();
      }
    });
  }

  /** Sends, in push order, every subscribed type whose version differs from the one last sent on this stream. */
  private void push() {
    if (snapshot == null) {
      return;
    }
    boolean changed = false;
    for (String type : ProxySnapshot.PUSH_ORDER) {
      VersionedSnapshot.TypeResources resources = snapshot.type(type);
      TypeSync last = types.getOrDefault(type, TypeSync.NOT_SENT);
      if (!subscribed.contains(type) || resources.version().equals(last.sentVersion())) {
        continue;
      }
      String nonce = server.nextNonce();
      request.response().write(DiscoveryResponse.newBuilder()
          .setVersionInfo(resources.version())
          .setTypeUrl(type)
          .setNonce(nonce)
          .addAllResources(resources.resources())
          .setControlPlane(ControlPlane.newBuilder().setIdentifier(AdsServer.IDENTIFIER))
          .build());
      types.put(type, new TypeSync(SyncState.STALE, resources.version(), nonce, server.clock().instant(), resources.hashes(),
          last.ackedVersion(), last.ackedResources(), null));
      LOG.debug("sent {} {} version {} ({} resources)", proxy, shortType(type), resources.version(), resources.resources().size());
      changed = true;
    }
    if (changed) {
      publish();
    }
  }

  private void publish() {
    if (active && proxy != null) {
      published = new ProxySync(proxy, nodeId, agent, connectedAt, types);
      server.publish(published);
    }
  }

  private void close() {
    if (proxy != null) {
      server.unregister(proxy, this);
      if (published != null) {
        server.retract(published);
      }
      if (active) {
        LOG.info("{} disconnected", proxy);
      }
    }
    active = false;
  }

  static String shortType(String typeUrl) {
    return typeUrl.substring(typeUrl.lastIndexOf('.') + 1);
  }
}
