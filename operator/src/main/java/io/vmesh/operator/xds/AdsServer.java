package io.vmesh.operator.xds;

import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.grpc.common.GrpcMessage;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.common.WireFormat;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vmesh.operator.webhook.ServingCertificate;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's Aggregated Discovery Service, state of the world and incremental (delta), over vertx-grpc with Envoy's messages and no
 * generated stubs: one bidirectional stream per proxy, authenticated by {@link ProxyAuthenticator}, fed by a
 * {@link SnapshotSource}, its progress kept in {@link SyncStatus}. Serves plaintext (in-cluster) and TLS listeners.
 */
public final class AdsServer {

  private static final Logger LOG = LoggerFactory.getLogger(AdsServer.class);
  public static final ServiceName SERVICE = ServiceName.create("envoy.service.discovery.v3.AggregatedDiscoveryService");
  public static final String METHOD = "StreamAggregatedResources";
  public static final String DELTA_METHOD = "DeltaAggregatedResources";
  static final ServiceMethod<DeltaDiscoveryRequest, DeltaDiscoveryResponse> DELTA_ADS = ServiceMethod.server(SERVICE, DELTA_METHOD,
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(DeltaDiscoveryRequest.newBuilder()));
  /** A message that is already protobuf bytes. */
  static final GrpcMessageEncoder<Buffer> SERIALIZED = new GrpcMessageEncoder<>() {
    @Override
    public GrpcMessage encode(Buffer message, WireFormat format) {
      return GrpcMessage.message("identity", WireFormat.PROTOBUF, message);
    }

    @Override
    public boolean accepts(WireFormat format) {
      return format == WireFormat.PROTOBUF;
    }
  };
  /**
   * Responses go out as bytes already serialized: a response's body is encoded once for every stream it goes to
   * ({@link EncodedResources}), only the nonce is per stream.
   */
  static final ServiceMethod<DiscoveryRequest, Buffer> ADS = ServiceMethod.server(SERVICE, METHOD,
      SERIALIZED, GrpcMessageDecoder.decoder(DiscoveryRequest.newBuilder()));
  /** What the server answers to in {@code control_plane.identifier}. */
  static final String IDENTIFIER = "vmesh-operator";

  private final Vertx vertx;
  private final SnapshotSource source;
  private final ProxyAuthenticator authenticator;
  private final SyncStatus status;
  private final Clock clock;
  private final Map<ProxyId, AdsStream<?, ?>> streams = new ConcurrentHashMap<>();
  private final AtomicLong nonces = new AtomicLong();
  private final EncodedResources encoded = new EncodedResources();
  private HttpServer plain;
  private HttpServer tls;

  public AdsServer(Vertx vertx, SnapshotSource source, ProxyAuthenticator authenticator, SyncStatus status, Clock clock) {
    this.vertx = vertx;
    this.source = source;
    this.authenticator = authenticator;
    this.status = status;
    this.clock = clock;
    source.onChange(this::changed);
  }

  /** Starts the plaintext listener ({@code port} 0 picks one); the future completes when it listens. */
  public Future<AdsServer> startPlaintext(String host, int port) {
    plain = vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(true)).requestHandler(grpc());
    return plain.listen(port, host).map(this);
  }

  /** Starts the TLS listener with the operator CA's serving certificate (HTTP/2 over ALPN). */
  public Future<AdsServer> startTls(String host, int port, ServingCertificate certificate) {
    tls = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setUseAlpn(true).setKeyCertOptions(keyCert(certificate)))
        .requestHandler(grpc());
    return tls.listen(port, host).map(this);
  }

  /** Serves a renewed certificate to new connections. */
  public Future<Boolean> updateCertificate(ServingCertificate certificate) {
    return tls == null ? Future.succeededFuture(false) : tls.updateSSLOptions(new io.vertx.core.net.ServerSSLOptions().setKeyCertOptions(keyCert(certificate)));
  }

  public int plaintextPort() {
    return plain.actualPort();
  }

  public int tlsPort() {
    return tls.actualPort();
  }

  public SyncStatus status() {
    return status;
  }

  public Future<Void> stop() {
    Future<Void> a = plain == null ? Future.succeededFuture() : plain.close();
    Future<Void> b = tls == null ? Future.succeededFuture() : tls.close();
    return Future.all(a, b).mapEmpty();
  }

  private GrpcServer grpc() {
    return GrpcServer.server(vertx)
        .callHandler(ADS, request -> bearer(request).ifPresent(token -> new SotwStream(this, request, token).start()))
        .callHandler(DELTA_ADS, request -> bearer(request).ifPresent(token -> new DeltaStream(this, request, token).start()));
  }

  /** The stream's bearer token; a stream without one is ended here. */
  private Optional<String> bearer(GrpcServerRequest<?, ?> request) {
    String authorization = request.headers().get("authorization");
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7) || authorization.substring(7).isBlank()) {
      LOG.info("refused an ADS stream from {}: no bearer token", request.connection().remoteAddress());
      request.response().status(GrpcStatus.UNAUTHENTICATED)
          .statusMessage("no ServiceAccount token: send the pod's projected token (audience " + TokenReviewAuthenticator.AUDIENCE
              + ") as gRPC metadata 'authorization: Bearer <token>'")
          .end();
      return Optional.empty();
    }
    return Optional.of(authorization.substring(7).trim());
  }

  // --- what a stream needs from the server

  Vertx vertx() {
    return vertx;
  }

  Clock clock() {
    return clock;
  }

  String nextNonce() {
    return Long.toString(nonces.incrementAndGet(), 36);
  }

  /** Blocking: authenticates and reads the proxy's first snapshot (run on a worker). */
  AdsStream.Opened authenticate(String token, io.envoyproxy.envoy.config.core.v3.Node node) throws ProxyAuthenticator.Refusal {
    ProxyId proxy = authenticator.authenticate(token, node);
    return new AdsStream.Opened(proxy, source.snapshot(proxy).map(s -> new VersionedSnapshot(s, encoded)));
  }

  void register(ProxyId proxy, AdsStream<?, ?> stream) {
    AdsStream<?, ?> previous = streams.put(proxy, stream);
    if (previous != null && previous != stream) {
      LOG.info("{} reconnected: the new stream replaces the old one", proxy);
      previous.replaced();
    }
  }

  void unregister(ProxyId proxy, AdsStream<?, ?> stream) {
    streams.remove(proxy, stream);
  }

  void publish(ProxySync sync) {
    status.put(sync);
  }

  void retract(ProxySync last) {
    status.remove(last.proxy(), last);
  }

  int connected() {
    return streams.size();
  }

  /** Builds each named proxy's new snapshot here, off the event loops, and hands it to the proxy's stream. */
  private void changed(Set<ProxyId> proxies) {
    // proxies handed the same snapshot object share one versioned copy: hashed and packed once, kept once
    Map<ProxySnapshot, VersionedSnapshot> built = new java.util.IdentityHashMap<>();
    encoded.nextGeneration();
    for (ProxyId proxy : proxies) {
      AdsStream<?, ?> stream = streams.get(proxy);
      if (stream == null) {
        continue;
      }
      Optional<VersionedSnapshot> next;
      try {
        next = source.snapshot(proxy).map(s -> built.computeIfAbsent(s, x -> new VersionedSnapshot(x, encoded)));
      } catch (RuntimeException e) {
        LOG.error("cannot build the config of {}; it keeps what it has", proxy, e);
        continue;
      }
      next.ifPresent(stream::update);
    }
  }

  private static PemKeyCertOptions keyCert(ServingCertificate certificate) {
    return new PemKeyCertOptions().addCertValue(Buffer.buffer(certificate.certPem())).addKeyValue(Buffer.buffer(certificate.keyPem()));
  }
}
