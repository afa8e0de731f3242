package io.vmesh.operator.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.vertx.core.Context;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxy's ADS stream, either protocol ({@link SotwStream}, {@link DeltaStream}). Everything here runs on the
 * stream's event loop. The first request's {@code node} and the bearer token are checked on a worker, requests being
 * queued meanwhile; then the protocol sends what the proxy subscribed to in push order and tracks ACKs and NACKs by the
 * latest nonce of each type. Requests carrying an older nonce are ignored: the proxy answers a superseded response.
 *
 * @param <Q> the protocol's request message
 * @param <R> what the protocol writes
 */
abstract class AdsStream<Q, R> {

  private static final Logger LOG = LoggerFactory.getLogger(AdsStream.class);

  /** What authentication yields: the proxy and its current config, if the source knows the pod. */
  record Opened(ProxyId proxy, Optional<VersionedSnapshot> snapshot) {
  }

  final AdsServer server;
  final GrpcServerRequest<Q, R> request;
  private final String token;
  private final Context context;
  private final Queue<Q> waiting = new ArrayDeque<>();
  /** Per type, in push order once sent: what was sent and acknowledged. */
  final Map<String, TypeSync> types = new LinkedHashMap<>();
  private boolean authenticating;
  boolean active = true;
  ProxyId proxy;
  private String nodeId;
  private String agent;
  private Instant connectedAt;
  VersionedSnapshot snapshot;
  private ProxySync published;

  AdsStream(AdsServer server, GrpcServerRequest<Q, R> request, String token) {
    this.server = server;
    this.request = request;
    this.token = token;
    this.context = server.vertx().getOrCreateContext();
  }

  /** The request's node (Envoy sends it on the first request of a stream only). */
  abstract Node node(Q request);

  /** Takes in one request of an authenticated stream; {@code pushNow} false while the queued ones are replayed. */
  abstract void handle(Q request, boolean pushNow);

  /** Sends, in push order, what changed for the proxy since it was last sent on this stream. */
  abstract void push();

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

  private void received(Q r) {
    if (proxy == null) {
      waiting.add(r);
      if (!authenticating) {
        authenticating = true;
        server.vertx().executeBlocking(() -> server.authenticate(token, node(r)), false).onComplete(done -> {
          if (done.failed()) {
            refuse(done.cause());
            return;
          }
          opened(done.result());
        });
      }
      return;
    }
    if (active && sameNode(r)) {
      handle(r, true);
    }
  }

  private void refuse(Throwable cause) {
    GrpcStatus status = cause instanceof ProxyAuthenticator.Refusal refusal ? refusal.status() : GrpcStatus.INTERNAL;
    String node = waiting.isEmpty() ? "?" : node(waiting.peek()).getId();
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
    Node node = node(waiting.peek());
    nodeId = node.getId();
    agent = node.getUserAgentName().isEmpty() ? "" : node.getUserAgentName() + "/" + node.getUserAgentVersion();
    connectedAt = server.clock().instant();
    snapshot = opened.snapshot().orElse(null);
    LOG.info("{} connected (node {}){}", proxy, nodeId, snapshot == null ? "; no config for it yet" : "");
    server.register(proxy, this);
    publish();
    // every request that came during the review is taken in before anything is sent, so the answers go in push order
    while (!waiting.isEmpty() && active) {
      Q r = waiting.poll();
      if (sameNode(r)) {
        handle(r, false);
      }
    }
    push();
  }

  private boolean sameNode(Q r) {
    Node node = node(r);
    if (!node.getId().isEmpty() && !node.getId().equals(nodeId)) {
      active = false;
      request.response().status(GrpcStatus.INVALID_ARGUMENT)
          .statusMessage("node.id changed on the stream from " + nodeId + " to " + node.getId()).end();
      close();
      return false;
    }
    return true;
  }

  /** Whether the type is one vmesh serves; logs the others, which are ignored. */
  boolean served(String type) {
    if (ProxySnapshot.PUSH_ORDER.contains(type)) {
      return true;
    }
    LOG.debug("{} asked for {}, a type vmesh does not serve", proxy, type);
    return false;
  }

  /**
   * An answer carrying {@code nonce}: an ACK or (with an error) a NACK when the nonce is the latest sent of its type,
   * else ignored. {@code ackedVersion} is what the proxy says it runs.
   */
  void answered(String type, String nonce, String ackedVersion, String error) {
    TypeSync sent = types.get(type);
    if (sent == null || !nonce.equals(sent.nonce())) {
      LOG.debug("{} answered {} nonce {}, not the latest: ignored", proxy, shortType(type), nonce);
      return;
    }
    if (error != null) {
      LOG.warn("{} rejected {} version {}: {}", proxy, shortType(type), sent.sentVersion(), error);
      // the proxy runs what it last acknowledged; the NACKed version is not sent again, only a newer one will be
      types.put(type, new TypeSync(SyncState.REJECTED, sent.sentVersion(), sent.nonce(), sent.sentAt(), sent.sentResources(),
          sent.ackedVersion(), sent.ackedResources(), error));
    } else {
      types.put(type, new TypeSync(SyncState.SYNCED, sent.sentVersion(), sent.nonce(), sent.sentAt(), sent.sentResources(),
          ackedVersion, ackedVersion.equals(sent.sentVersion()) ? sent.sentResources() : sent.ackedResources(), null));
    }
    publish();
  }

  /** Records a response just written: STALE until answered. */
  void sent(String type, String version, String nonce, Map<String, String> resources) {
    TypeSync last = types.getOrDefault(type, TypeSync.NOT_SENT);
    types.put(type, new TypeSync(SyncState.STALE, version, nonce, server.clock().instant(), resources,
        last.ackedVersion(), last.ackedResources(), null));
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

  void publish() {
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
