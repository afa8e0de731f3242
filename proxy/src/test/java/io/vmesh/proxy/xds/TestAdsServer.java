package io.vmesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A small state-of-the-world ADS server on loopback (real gRPC, vertx-grpc-server): it keeps one response
 * per type, sends it when a stream subscribes to the type with another version or asks for other names,
 * and pushes a new one to every subscribed stream. It records every request and the {@code authorization} header of each stream.
 */
final class TestAdsServer implements AutoCloseable {

  private static final ServiceMethod<DiscoveryRequest, DiscoveryResponse> ADS = ServiceMethod.server(XdsClient.SERVICE,
      XdsClient.METHOD, GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(DiscoveryRequest.newBuilder()));

  private final Vertx vertx = Vertx.vertx();
  private final Map<String, DiscoveryResponse> current = new HashMap<>();
  private final List<Subscriber> streams = new ArrayList<>();
  private final Map<String, String> lastNonce = new HashMap<>();
  private long nonces;
  private HttpServer http;
  private int port;
  private final SelfSignedCertificate tls;
  final List<DiscoveryRequest> requests = new CopyOnWriteArrayList<>();
  final List<String> authorizations = new CopyOnWriteArrayList<>();

  private record Subscriber(GrpcServerResponse<DiscoveryRequest, DiscoveryResponse> response, Set<String> types,
                            Map<String, List<String>> names) {
  }

  TestAdsServer() {
    this(null);
  }

  /** @param tls the server's certificate, or null for plaintext */
  TestAdsServer(SelfSignedCertificate tls) {
    this.tls = tls;
  }

  /** Listens on {@code port} (0: any free one) and returns it. */
  int start(int port) throws Exception {
    GrpcServer grpc = GrpcServer.server(vertx).callHandler(ADS, call -> {
      authorizations.add(String.valueOf(call.headers().get("authorization")));
      Subscriber s = new Subscriber(call.response(), new HashSet<>(), new HashMap<>());
      synchronized (this) {
        streams.add(s);
      }
      call.handler(request -> onRequest(s, request));
      call.endHandler(v -> forget(s));
      call.exceptionHandler(e -> forget(s));
    });
    HttpServerOptions options = new HttpServerOptions().setHost("127.0.0.1").setPort(port);
    if (tls != null) {
      options.setSsl(true).setUseAlpn(true).setKeyCertOptions(tls.keyCertOptions());
    }
    http = vertx.createHttpServer(options).requestHandler(grpc)
        .listen().await(10, TimeUnit.SECONDS);
    this.port = http.actualPort();
    return this.port;
  }

  /** Closes the listening socket and every stream, as an operator that dies would. */
  void stop() throws Exception {
    synchronized (this) {
      streams.clear();
    }
    http.close().await(10, TimeUnit.SECONDS);
  }

  int port() {
    return port;
  }

  private synchronized void forget(Subscriber s) {
    streams.remove(s);
  }

  private synchronized void onRequest(Subscriber s, DiscoveryRequest request) {
    requests.add(request);
    String type = request.getTypeUrl();
    List<String> before = s.names().put(type, request.getResourceNamesList());
    boolean first = s.types().add(type);
    DiscoveryResponse response = current.get(type);
    if (response == null || request.hasErrorDetail()) {
      return;
    }
    boolean subscribes = first && !response.getVersionInfo().equals(request.getVersionInfo());
    // a client that asks for other names gets the resources again, as a state-of-the-world server answers
    boolean renames = before != null && !before.equals(request.getResourceNamesList());
    if (subscribes || renames) {
      send(s, response);
    }
  }

  /** Makes {@code resources} the state of {@code typeUrl} at {@code version} and sends it to every stream subscribed to it. */
  synchronized void push(String typeUrl, String version, List<? extends Message> resources) {
    DiscoveryResponse.Builder r = DiscoveryResponse.newBuilder().setTypeUrl(typeUrl).setVersionInfo(version);
    resources.forEach(m -> r.addResources(Any.pack(m)));
    current.put(typeUrl, r.build());
    for (Subscriber s : streams) {
      if (s.types().contains(typeUrl)) {
        send(s, current.get(typeUrl));
      }
    }
  }

  private void send(Subscriber s, DiscoveryResponse response) {
    String nonce = "n" + (++nonces);
    lastNonce.put(response.getTypeUrl(), nonce);
    s.response().write(response.toBuilder().setNonce(nonce).build());
  }

  synchronized String lastNonce(String typeUrl) {
    return lastNonce.get(typeUrl);
  }

  /** Waits for a request that matches, among those received since {@code from}. */
  DiscoveryRequest await(int from, Predicate<DiscoveryRequest> matching, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      for (int i = from; i < requests.size(); i++) {
        if (matching.test(requests.get(i))) {
          return requests.get(i);
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no request " + what + " within 30 s; received: " + requests.subList(from, requests.size()));
  }

  @Override
  public void close() {
    vertx.close().await();
  }
}
