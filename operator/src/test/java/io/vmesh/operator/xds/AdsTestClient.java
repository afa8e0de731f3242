package io.vmesh.operator.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.vertx.core.Future;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A simulated proxy: one real ADS stream over vertx-grpc-client, responses queued for the test to read. */
public final class AdsTestClient {

  public static final ServiceMethod<DiscoveryResponse, DiscoveryRequest> ADS = ServiceMethod.client(AdsServer.SERVICE, AdsServer.METHOD,
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(DiscoveryResponse.newBuilder()));

  /** How the server ended the stream. */
  public record Ended(GrpcStatus status, String message) {
  }

  public final String nodeId;
  /**
   * Held so the client stays reachable while the stream is open: Vert.x closes an unreachable HTTP client from a
   * Cleaner, and a GC between opening and the first write then ends the connection with a GOAWAY (seen as
   * "Attempted to create stream id 1 after connection was closed" when a caller passed {@code GrpcClient.client(vertx)}
   * inline).
   */
  private final GrpcClient client;
  private final GrpcClientRequest<DiscoveryRequest, DiscoveryResponse> request;
  public final BlockingQueue<DiscoveryResponse> responses = new LinkedBlockingQueue<>();
  public final CompletableFuture<Ended> ended = new CompletableFuture<>();
  private boolean nodeSent;

  private AdsTestClient(String nodeId, GrpcClient client, GrpcClientRequest<DiscoveryRequest, DiscoveryResponse> request) {
    this.nodeId = nodeId;
    this.client = client;
    this.request = request;
  }

  /** Opens the stream; {@code token} null sends no authorization metadata. */
  public static Future<AdsTestClient> open(GrpcClient client, SocketAddress server, String nodeId, String token) {
    return client.request(server, ADS).map(request -> {
      if (token != null) {
        request.headers().set("authorization", "Bearer " + token);
      }
      AdsTestClient c = new AdsTestClient(nodeId, client, request);
      request.response().onSuccess(response -> {
        response.handler(c.responses::add);
        response.end().onComplete(done -> c.ended.complete(new Ended(response.status(), response.statusMessage())));
      }).onFailure(c.ended::completeExceptionally);
      return c;
    });
  }

  /** A subscription (no nonce) to {@code typeUrl}; the first request of the stream carries the node, as Envoy's do. */
  public void subscribe(String typeUrl) {
    send(DiscoveryRequest.newBuilder().setTypeUrl(typeUrl));
  }

  public void ack(DiscoveryResponse response) {
    send(DiscoveryRequest.newBuilder().setTypeUrl(response.getTypeUrl()).setVersionInfo(response.getVersionInfo())
        .setResponseNonce(response.getNonce()));
  }

  /** A NACK keeps the last acknowledged version in {@code version_info}, as Envoy does. */
  public void nack(DiscoveryResponse response, String lastGoodVersion, String error) {
    send(DiscoveryRequest.newBuilder().setTypeUrl(response.getTypeUrl()).setVersionInfo(lastGoodVersion)
        .setResponseNonce(response.getNonce())
        .setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage(error)));
  }

  private void send(DiscoveryRequest.Builder r) {
    if (!nodeSent) {
      r.setNode(Node.newBuilder().setId(nodeId));
      nodeSent = true;
    }
    request.write(r.build());
  }

  /** The next response, failing after {@code timeout}. */
  public DiscoveryResponse next(Duration timeout) throws InterruptedException {
    DiscoveryResponse r = responses.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (r == null) {
      throw new AssertionError(nodeId + ": no response within " + timeout + (ended.isDone() ? "; stream ended: " + ended.join() : ""));
    }
    return r;
  }

  public void close() {
    request.cancel();
  }
}
