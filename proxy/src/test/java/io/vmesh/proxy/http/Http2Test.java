package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.StringValue;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServer;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * HTTP/2 through the whole proxy on loopback: h2c clients with prior knowledge (Vert.x's HttpClient) and
 * raw sockets, h2c and HTTP/1.1 origins (Vert.x's HttpServer), protocol translation both ways, many
 * streams on one connection each side, gRPC-shaped calls with trailers, the proxy's own gRPC statuses,
 * and malformed frames.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Http2Test {

  private final Vertx vertx = Vertx.vertx();
  private final AtomicInteger h2OriginConnections = new AtomicInteger();
  private final List<String> originResets = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<String> originSeen = new java.util.concurrent.CopyOnWriteArrayList<>();
  private ProxyServer proxy;
  private HttpClient h2Client;
  private HttpClient h1Client;
  private int front;
  private int sniffed;

  @BeforeAll
  void start() throws Exception {
    int h1 = await(vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(false))
        .requestHandler(r -> origin("h1", r)).listen(0, "127.0.0.1")).actualPort();
    int h2 = await(vertx.createHttpServer(new HttpServerOptions())
        .connectionHandler(c -> h2OriginConnections.incrementAndGet())
        .requestHandler(r -> {
          originSeen.add(r.path());
          r.response().closeHandler(v -> {
            if (!r.response().ended()) {
              originResets.add(r.path());
            }
          });
          origin("h2", r);
        }).listen(0, "127.0.0.1")).actualPort();
    int grpc = grpcOrigin();
    int dead = freePort();
    front = freePort();
    sniffed = freePort();
    String hcm = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    String inspector = "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector";
    String tcp = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
    String options = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0), RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: front
            address: { socket_address: { address: 127.0.0.1, port_value: %1$d } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": %3$s
                  stat_prefix: front
                  http2_protocol_options: { max_concurrent_streams: 500, initial_stream_window_size: 262144, initial_connection_window_size: 1048576 }
                  route_config:
                    virtual_hosts:
                    - name: any
                      domains: [ "*" ]
                      routes:
                      - { match: { prefix: /vmesh.test.Echo/ }, route: { cluster: grpc } }
                      - { match: { prefix: /vmesh.test.Down/ }, route: { cluster: blackhole } }
                      - { match: { prefix: /h1/ }, route: { cluster: h1 } }
                      - { match: { prefix: /h2/ }, route: { cluster: h2 } }
                      - { match: { prefix: /auto/ }, route: { cluster: auto } }
                      - { match: { prefix: /slow }, route: { cluster: h2, timeout: 0.3s } }
                      - { match: { prefix: /dead }, route: { cluster: dead } }
                      - { match: { prefix: /blackhole }, route: { cluster: blackhole } }
          - name: sniffed
            address: { socket_address: { address: 127.0.0.1, port_value: %2$d } }
            listener_filters: [ { name: envoy.filters.listener.http_inspector, typed_config: { "@type": %4$s } } ]
            filter_chains:
            - filter_chain_match: { application_protocols: [ h2c ] }
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": %3$s
                  stat_prefix: sniffed
                  codec_type: HTTP2
                  route_config: { virtual_hosts: [ { name: all, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: h2 } } ] } ] }
            default_filter_chain:
              filters: [ { name: tcp, typed_config: { "@type": %5$s, stat_prefix: raw, cluster: h1 } } ]
          clusters:
          - { name: h1, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %7$d } } } } ] } ] } }
          - name: h2
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": %6$s
                explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 1000 } }
            load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %8$d } } } } ] } ] }
          - name: auto
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": %6$s
                use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} }
            load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %8$d } } } } ] } ] }
          - { name: dead, connect_timeout: 1s, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %9$d } } } } ] } ] } }
          - { name: blackhole }
          - name: grpc
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": %6$s
                explicit_http_config: { http2_protocol_options: {} }
            load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %10$d } } } } ] } ] }
        """.formatted(front, sniffed, hcm, inspector, tcp, options, h1, h2, dead, grpc), false), Clock.systemUTC()));
    proxy.start();
    h2Client = newH2Client();
    h1Client = vertx.createHttpClient();
  }

  @AfterAll
  void stop() {
    if (proxy != null) {
      proxy.stop();
    }
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }

  /**
   * Answers "{name} {version} {authority} {path}" with what it saw of the forwarded headers; /echo streams
   * the body back; /grpc answers each request chunk as it comes and ends with trailers; /grpc-fail is a
   * Trailers-Only gRPC error; /slow never answers.
   */
  private static void origin(String name, HttpServerRequest r) {
    String path = r.path().substring(r.path().indexOf('/', 1) < 0 ? 0 : r.path().indexOf('/', 1));
    var response = r.response();
    response.putHeader("seen-xff", String.valueOf(r.getHeader("x-forwarded-for")));
    response.putHeader("seen-request-id", String.valueOf(r.getHeader("x-request-id")));
    response.putHeader("seen-te", String.valueOf(r.getHeader("te")));
    switch (path) {
      case "/echo" -> {
        response.setChunked(true);
        r.pipeTo(response);
      }
      case "/grpc" -> {
        response.putHeader("content-type", "application/grpc").setChunked(true);
        r.handler(response::write);
        r.endHandler(v -> {
          response.putTrailer("grpc-status", "0").putTrailer("grpc-message", "done").putTrailer("x-trailer", name);
          response.end();
        });
      }
      case "/grpc-fail" -> response.putHeader("content-type", "application/grpc").putHeader("grpc-status", "5")
          .putHeader("grpc-message", "not found").end();
      case "/slow", "/slow-reset" -> { }
      case "/stall" -> r.pause();
      case "/cut" -> {
        response.setChunked(true).write("partial");
        Vertx.currentContext().owner().setTimer(100, id -> response.reset());
      }
      default -> r.body().onSuccess(b -> response.end(name + " " + r.version() + " " + r.authority() + " " + r.path()
          + (b.length() > 0 ? " " + b.length() : "")));
    }
  }

  private static final ServiceName ECHO = ServiceName.create("vmesh.test.Echo");

  /** A real gRPC server (vertx-grpc, protobuf StringValue messages): Chat echoes each message as it comes, Fail fails. */
  private int grpcOrigin() throws Exception {
    GrpcServer grpc = GrpcServer.server(vertx);
    grpc.callHandler(ServiceMethod.server(ECHO, "Chat", GrpcMessageEncoder.<StringValue>encoder(),
        GrpcMessageDecoder.<StringValue>decoder(StringValue.newBuilder())), call -> {
          call.handler(m -> call.response().write(StringValue.of("echo " + m.getValue())));
          call.endHandler(v -> {
            call.response().trailers().set("x-served-by", "grpc-origin");
            call.response().end();
          });
        });
    grpc.callHandler(ServiceMethod.server(ECHO, "Fail", GrpcMessageEncoder.<StringValue>encoder(),
        GrpcMessageDecoder.<StringValue>decoder(StringValue.newBuilder())), call -> call.handler(m -> call.response()
            .status(io.vertx.grpc.common.GrpcStatus.NOT_FOUND).statusMessage("no " + m.getValue()).end()));
    return await(vertx.createHttpServer().requestHandler(grpc).listen(0, "127.0.0.1")).actualPort();
  }

  private static ServiceMethod<StringValue, StringValue> clientMethod(String service, String method) {
    return ServiceMethod.client(ServiceName.create(service), method, GrpcMessageEncoder.<StringValue>encoder(),
        GrpcMessageDecoder.<StringValue>decoder(StringValue.newBuilder()));
  }

  @Test
  void aRealGrpcBidiStreamGoesThroughMessageByMessageWithItsTrailers() throws Exception {
    GrpcClient client = GrpcClient.client(vertx, new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false));
    GrpcClientRequest<StringValue, StringValue> call = await(client.request(
        io.vertx.core.net.SocketAddress.inetSocketAddress(front, "127.0.0.1"), clientMethod("vmesh.test.Echo", "Chat")));
    List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
    Promise<Void> first = Promise.promise();
    Promise<Void> ended = Promise.promise();
    call.response().onSuccess(response -> {
      response.handler(m -> {
        received.add(m.getValue());
        first.tryComplete();
      });
      response.endHandler(v -> ended.complete());
    });
    call.write(StringValue.of("one"));
    // the first answer arrives while the call is still open: streamed, not buffered
    await(first.future());
    call.write(StringValue.of("two"));
    call.end();
    await(ended.future());
    GrpcClientResponse<StringValue, StringValue> response = await(call.response());
    assertThat(received).containsExactly("echo one", "echo two");
    assertThat(response.status()).isEqualTo(io.vertx.grpc.common.GrpcStatus.OK);
    assertThat(response.trailers().get("x-served-by")).isEqualTo("grpc-origin");

    GrpcClientRequest<StringValue, StringValue> failing = await(client.request(
        io.vertx.core.net.SocketAddress.inetSocketAddress(front, "127.0.0.1"), clientMethod("vmesh.test.Echo", "Fail")));
    failing.end(StringValue.of("such thing"));
    GrpcClientResponse<StringValue, StringValue> failed = await(failing.response());
    await(failed.end().recover(t -> Future.succeededFuture()));
    assertThat(failed.status()).isEqualTo(io.vertx.grpc.common.GrpcStatus.NOT_FOUND);
    assertThat(failed.statusMessage()).isEqualTo("no such thing");
    await(client.close());
  }

  @Test
  void aRealGrpcClientReadsTheProxysOwnStatuses() throws Exception {
    GrpcClient client = GrpcClient.client(vertx, new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false));
    record Case(String service, io.vertx.grpc.common.GrpcStatus status, String message) {
    }
    for (Case c : List.of(new Case("vmesh.test.Missing", io.vertx.grpc.common.GrpcStatus.UNIMPLEMENTED, "Not Found"),
        new Case("vmesh.test.Down", io.vertx.grpc.common.GrpcStatus.UNAVAILABLE, "no healthy upstream"))) {
      GrpcClientRequest<StringValue, StringValue> call = await(client.request(
          io.vertx.core.net.SocketAddress.inetSocketAddress(front, "127.0.0.1"), clientMethod(c.service(), "Call")));
      call.end(StringValue.of("x"));
      GrpcClientResponse<StringValue, StringValue> response = await(call.response());
      await(response.end().recover(t -> Future.succeededFuture()));
      assertThat(response.status()).as(c.service()).isEqualTo(c.status());
      assertThat(response.statusMessage()).as(c.service()).isEqualTo(c.message());
    }
    await(client.close());
  }

  @Test
  void h2cClientReachesAnH2cOriginAndAnHttp1OriginWithAuthorityAsHost() throws Exception {
    Reply toH2 = h2Get(front, "svc.example:8080", "/h2/a");
    assertThat(toH2.body()).isEqualTo("h2 HTTP_2 svc.example:8080 /h2/a");
    assertThat(toH2.version()).isEqualTo(HttpVersion.HTTP_2);
    assertThat(toH2.headers().get("seen-xff")).isEqualTo("127.0.0.1");
    assertThat(toH2.headers().get("seen-request-id")).matches("[0-9a-f-]{36}");
    assertThat(toH2.headers().get("x-envoy-upstream-service-time")).isNotNull();

    Reply toH1 = h2Get(front, "svc.example:8080", "/h1/b");
    assertThat(toH1.body()).isEqualTo("h1 HTTP_1_1 svc.example:8080 /h1/b");
    assertThat(toH1.version()).isEqualTo(HttpVersion.HTTP_2);
  }

  @Test
  void http1ClientReachesAnH2cOrigin() throws Exception {
    RawHttp.Response r = RawHttp.get(front, "svc.example", "/h2/c");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.text()).isEqualTo("h2 HTTP_2 svc.example /h2/c");
  }

  @Test
  void anUpgradeToH2cIsServedAsHttp1WithoutTheUpgradeHeaders() throws Exception {
    RawHttp.Response r = RawHttp.get(front, "u", "/h1/u", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c",
        "HTTP2-Settings: AAMAAABkAAQAAP__");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.text()).isEqualTo("h1 HTTP_1_1 u /h1/u");
  }

  @Test
  void anHttp1BodyReachesAnH2cOriginAndComesBack() throws Exception {
    byte[] data = new byte[200_000];
    new java.util.Random(3).nextBytes(data);
    try (RawHttp c = new RawHttp(front)) {
      // sent while the echo is read: a client that reads only after writing all would stall against backpressure
      var sending = java.util.concurrent.CompletableFuture.runAsync(() -> {
        try {
          c.send(("POST /h2/echo HTTP/1.1\r\nHost: e\r\nContent-Length: " + data.length + "\r\n\r\n")
              .getBytes(StandardCharsets.ISO_8859_1), data);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      RawHttp.Response r = c.read();
      sending.get(20, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(data);
    }
  }

  @Test
  void useDownstreamProtocolFollowsTheClient() throws Exception {
    assertThat(h2Get(front, "x", "/auto/d").body()).isEqualTo("h2 HTTP_2 x /auto/d");
    assertThat(RawHttp.get(front, "x", "/auto/d").text()).isEqualTo("h2 HTTP_1_1 x /auto/d");
  }

  @Test
  void manyConcurrentStreamsShareOneConnectionEachSide() throws Exception {
    HttpClient client = newH2Client();
    long accepted = stat("listener.front.downstream_cx_total");
    long upstream = stat("cluster.h2.upstream_cx_total");
    // one warm-up request opens the connections, so the burst cannot race to open several
    await(client.request(options(front, "many", "/h2/warm")).compose(r -> r.send().compose(HttpClientResponse::body)));
    List<Future<String>> replies = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      Buffer body = Buffer.buffer("x".repeat(i));
      replies.add(client.request(options(front, "many", "/h2/echo").setMethod(HttpMethod.POST))
          .compose(r -> r.send(body).compose(HttpClientResponse::body)).map(Buffer::toString));
    }
    await(Future.all(replies));
    for (int i = 0; i < 300; i++) {
      assertThat(replies.get(i).result()).isEqualTo("x".repeat(i));
    }
    assertThat(stat("listener.front.downstream_cx_total") - accepted).isEqualTo(1);
    assertThat(stat("cluster.h2.upstream_cx_total") - upstream).isLessThanOrEqualTo(1);
    await(client.close());
  }

  @Test
  void aLargeBodyStreamsBothWaysWithFlowControl() throws Exception {
    byte[] data = new byte[3 * 1024 * 1024];
    new java.util.Random(7).nextBytes(data);
    Buffer sent = Buffer.buffer(data);
    // through the sniffing listener too: the bytes the http_inspector read go to the codec before the rest
    for (String path : List.of("/h2/echo", "/h1/echo", "sniffed /echo")) {
      int port = path.startsWith("sniffed") ? sniffed : front;
      Buffer got = await(h2Client.request(options(port, "big", path.replace("sniffed ", "")).setMethod(HttpMethod.POST))
          .compose(r -> r.send(sent).compose(HttpClientResponse::body)));
      assertThat(got.length()).as(path).isEqualTo(data.length);
      assertThat(got.getBytes()).as(path).isEqualTo(data);
    }
  }

  @Test
  void aRequestBodyTheOriginDoesNotReadStallsTheClientNotTheProxysMemory() throws Exception {
    HttpClient client = newH2Client();
    var request = await(client.request(options(front, "b", "/h2/stall").setMethod(HttpMethod.POST)));
    request.setChunked(true);
    Buffer chunk = Buffer.buffer(new byte[16 * 1024]);
    long written = 0;
    long fullSince = -1;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    // write until the client has been unable to write for 2 s (its stream window stays closed) or 32 MiB went
    while (written < 32L * 1024 * 1024 && System.nanoTime() < deadline) {
      if (request.writeQueueFull()) {
        if (fullSince < 0) {
          fullSince = System.nanoTime();
        } else if (System.nanoTime() - fullSince > TimeUnit.SECONDS.toNanos(2)) {
          break;
        }
        Thread.sleep(20);
        continue;
      }
      fullSince = -1;
      request.write(chunk);
      written += chunk.length();
    }
    // what is in flight: the proxy's downstream window, its upstream window and socket buffers, not the body
    assertThat(written).as("bytes the client could write").isLessThan(8L * 1024 * 1024);
    request.reset();
    // the reset reaches the origin although the stream was paused: its window goes back to the connection
    while (!originResets.contains("/h2/stall") && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(originResets).contains("/h2/stall");
    await(client.close());
  }

  @Test
  void aGrpcCallStreamsBothWaysAndItsTrailersArrive() throws Exception {
    Promise<MultiMap> trailers = Promise.promise();
    List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
    var request = await(h2Client.request(options(front, "grpc.example", "/h2/grpc").setMethod(HttpMethod.POST)
        .putHeader("content-type", "application/grpc").putHeader("te", "trailers")));
    request.setChunked(true);
    Promise<Void> first = Promise.promise();
    Promise<Void> second = Promise.promise();
    request.response().onSuccess(response -> {
      assertThat(response.statusCode()).isEqualTo(200);
      response.handler(b -> {
        received.add(b.toString());
        String all = String.join("", received);
        if (all.equals("one")) {
          first.tryComplete();
        } else if (all.equals("onetwo")) {
          second.tryComplete();
        }
      });
      response.endHandler(v -> trailers.complete(response.trailers()));
    });
    request.write("one");
    // the answer to the first message comes while the request is still open: streaming, not buffering
    await(first.future());
    request.write("two");
    await(second.future());
    request.end();
    MultiMap t = await(trailers.future());
    assertThat(t.get("grpc-status")).isEqualTo("0");
    assertThat(t.get("grpc-message")).isEqualTo("done");
    assertThat(t.get("x-trailer")).isEqualTo("h2");
  }

  @Test
  void teTrailersReachesTheOriginAndATrailersOnlyAnswerPassesThrough() throws Exception {
    Reply r = await(h2Client.request(options(front, "g", "/h2/grpc-fail").setMethod(HttpMethod.POST)
            .putHeader("content-type", "application/grpc").putHeader("te", "trailers"))
        .compose(req -> req.send(Buffer.buffer(new byte[] {0, 0, 0, 0, 0})).compose(Http2Test::reply)));
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.headers().get("grpc-status")).isEqualTo("5");
    assertThat(r.headers().get("grpc-message")).isEqualTo("not found");
    assertThat(r.headers().get("seen-te")).isEqualTo("trailers");
  }

  @Test
  void theProxysOwnRepliesToGrpcCallsAreGrpcStatuses() throws Exception {
    record Case(String path, String status, String message) {
    }
    for (Case c : List.of(new Case("/nowhere", "12", "Not Found"), new Case("/blackhole", "14", "no healthy upstream"),
        new Case("/dead", "14", "upstream connect error or disconnect/reset before headers. reset reason: connection failure"),
        new Case("/slow", "14", "upstream request timeout"))) {
      Reply r = await(h2Client.request(options(front, "g", c.path()).setMethod(HttpMethod.POST)
              .putHeader("content-type", "application/grpc+proto"))
          .compose(req -> req.send(Buffer.buffer(new byte[] {0, 0, 0, 0, 0})).compose(Http2Test::reply)));
      assertThat(r.status()).as(c.path()).isEqualTo(200);
      assertThat(r.headers().get("content-type")).as(c.path()).isEqualTo("application/grpc");
      assertThat(r.headers().get("grpc-status")).as(c.path()).isEqualTo(c.status());
      assertThat(r.headers().get("grpc-message")).as(c.path()).isEqualTo(c.message());
      assertThat(r.body()).as(c.path()).isEmpty();
    }
    // the same failure without gRPC stays plain HTTP
    assertThat(h2Get(front, "g", "/blackhole").status()).isEqualTo(503);
    assertThat(h2Get(front, "g", "/nowhere").status()).isEqualTo(404);
  }

  @Test
  void aStreamResetEitherSideResetsTheOtherAndLeavesTheConnection() throws Exception {
    HttpClient client = newH2Client();
    long accepted = stat("listener.front.downstream_cx_total");
    // the client gives up: the proxy resets the upstream stream too
    var waiting = await(client.request(options(front, "r", "/h2/slow-reset")));
    waiting.send();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!originSeen.contains("/h2/slow-reset") && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    waiting.reset();
    while (!originResets.contains("/h2/slow-reset") && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(originResets).contains("/h2/slow-reset");
    // the origin cuts a response short: that stream is reset (UC), not the connection
    Throwable cut = await(client.request(options(front, "r", "/h2/cut")).compose(r -> r.send()
        .compose(HttpClientResponse::body)).map(b -> (Throwable) null).recover(Future::succeededFuture));
    assertThat(cut).isInstanceOf(io.vertx.core.http.StreamResetException.class);
    assertThat(await(client.request(options(front, "r", "/h2/after")).compose(r -> r.send().compose(Http2Test::reply))).body())
        .isEqualTo("h2 HTTP_2 r /h2/after");
    assertThat(stat("listener.front.downstream_cx_total") - accepted).isEqualTo(1);
    await(client.close());
  }

  @Test
  void theHttpInspectorsH2cChoosesTheHttp2ChainAndHttp1TheTcpOne() throws Exception {
    HttpClient client = newH2Client();
    for (String path : List.of("/x", "/y", "/z")) {
      Reply r = await(client.request(options(sniffed, "s", path)).compose(req -> req.send().compose(Http2Test::reply)));
      assertThat(r.body()).isEqualTo("h2 HTTP_2 s " + path);
    }
    await(client.close());
    // the default chain relays bytes: the HTTP/1.1 origin answers itself
    assertThat(RawHttp.get(sniffed, "s", "/y").text()).isEqualTo("h1 HTTP_1_1 s /y");
  }

  @Test
  void aMalformedFrameIsAConnectionErrorWithGoaway() throws Exception {
    try (Socket s = h2Socket()) {
      // DATA on stream 0 is a connection error of type PROTOCOL_ERROR (RFC 9113 section 6.1)
      s.getOutputStream().write(frame(0, 0, 0, new byte[] {1, 2, 3, 4}));
      DataInputStream in = new DataInputStream(s.getInputStream());
      List<Integer> goawayErrors = new ArrayList<>();
      try {
        while (true) {
          Frame f = Frame.read(in);
          if (f.type() == 7) {
            goawayErrors.add(java.nio.ByteBuffer.wrap(f.payload(), 4, 4).getInt());
          }
        }
      } catch (EOFException closed) {
        // the proxy closed the connection after its GOAWAY
      }
      assertThat(goawayErrors).as("GOAWAY error codes").contains(1);
    }
  }


  @Test
  void http2ProtocolOptionsAreAnnouncedToTheClient() throws Exception {
    try (Socket s = h2Socket()) {
      DataInputStream in = new DataInputStream(s.getInputStream());
      java.util.Map<Integer, Long> settings = new java.util.HashMap<>();
      long connectionWindowUpdates = 0;
      // up to the proxy's SETTINGS ACK, which comes after what it sends when the connection opens
      for (Frame f = Frame.read(in); f.type() != 4 || (f.flags() & 1) == 0; f = Frame.read(in)) {
        if (f.type() == 4) {
          java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(f.payload());
          while (b.remaining() >= 6) {
            settings.put(b.getShort() & 0xffff, b.getInt() & 0xffffffffL);
          }
        } else if (f.type() == 8 && f.stream() == 0) {
          connectionWindowUpdates += java.nio.ByteBuffer.wrap(f.payload()).getInt() & 0x7fffffffL;
        }
      }
      // SETTINGS_MAX_CONCURRENT_STREAMS (3), SETTINGS_INITIAL_WINDOW_SIZE (4), SETTINGS_MAX_HEADER_LIST_SIZE (6)
      assertThat(settings).containsEntry(3, 500L).containsEntry(4, 262_144L).containsEntry(6, 61_440L);
      assertThat(65_535L + connectionWindowUpdates).as("connection window").isEqualTo(1_048_576L);
    }
  }

  @Test
  void headersOverTheLimitAre431OnTheirStreamOnly() throws Exception {
    try (Socket s = h2Socket()) {
      OutputStream out = s.getOutputStream();
      // :method GET, :path /, :scheme http (static table), then one literal header of 70 000 bytes
      ByteArrayOutputStream block = new ByteArrayOutputStream();
      block.writeBytes(new byte[] {(byte) 0x82, (byte) 0x84, (byte) 0x86, 0x00, 0x05});
      block.writeBytes("x-big".getBytes(StandardCharsets.US_ASCII));
      int length = 70_000;
      block.write(0x7f);
      int rest = length - 127;
      while (rest >= 128) {
        block.write((rest & 0x7f) | 0x80);
        rest >>>= 7;
      }
      block.write(rest);
      block.writeBytes("a".repeat(length).getBytes(StandardCharsets.US_ASCII));
      byte[] headers = block.toByteArray();
      for (int offset = 0; offset < headers.length; offset += 16_384) {
        byte[] part = java.util.Arrays.copyOfRange(headers, offset, Math.min(headers.length, offset + 16_384));
        boolean first = offset == 0;
        boolean last = offset + 16_384 >= headers.length;
        // HEADERS (END_STREAM) then CONTINUATION frames, END_HEADERS on the last
        out.write(frame(first ? 1 : 9, (first ? 1 : 0) | (last ? 4 : 0), 1, part));
      }
      out.flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      byte[] status = null;
      while (status == null) {
        Frame f = Frame.read(in);
        assertThat(f.type()).as("no GOAWAY: a stream error").isNotEqualTo(7);
        if (f.type() == 1 && f.stream() == 1) {
          status = f.payload();
        }
      }
      // ":status 431" is not in HPACK's static table: a literal with the indexed name :status (index 8)
      assertThat(new String(status, StandardCharsets.ISO_8859_1)).contains("431");
    }
    assertThat(h2Get(front, "after", "/h2/ok").status()).isEqualTo(200);
  }

  /**
   * RFC 9113 section 6.9: every DATA byte counts against the connection window, also when it is never read —
   * bodies of requests the proxy answered itself, reset, or held while the origin read nothing. If any of
   * them were not credited back, a few such requests would close the connection window and every later
   * request on the connection would hang.
   */
  @Test
  void bodiesTheProxyDoesNotReadGiveTheirConnectionWindowBack() throws Exception {
    try (WindowTrackingClient c = new WindowTrackingClient(h2Socket())) {
      c.awaitConnectionWindow(1_048_576);
      byte[] body = new byte[200_000];
      int stream = 1;
      // each round sends about 760 KB the proxy never fully reads, three times its connection window in all, and
      // leaves about 130 KB of an echo unread on the proxy's upstream connection
      for (int round = 0; round < 4; round++) {
        // no route: read whole for the 404, reset by the client before its end
        c.post(stream, "/nowhere", body.length);
        c.data(stream, body, false);
        c.reset(stream);
        stream += 2;
        // no healthy upstream: answered and reset on its headers, the body is sent anyway (DATA on a reset stream)
        c.post(stream, "/blackhole", body.length);
        c.data(stream, body, false);
        stream += 2;
        // an origin that reads nothing: the proxy stops reading the stream, the client resets it
        c.post(stream, "/h2/stall", 262_144);
        c.data(stream, new byte[262_144], false);
        c.reset(stream);
        stream += 2;
        // a route timeout while the body streams: the proxy answers 504 and resets the stream
        c.post(stream, "/slow", 100_000);
        c.data(stream, new byte[100_000], false);
        c.awaitReset(stream);
        stream += 2;
        // upstream too: an echo whose response the client stops reading (no stream credit), then resets; the
        // proxy's upstream stream held what the client could not take, and must give it back to that connection
        c.withholdStreamCredit(stream);
        c.post(stream, "/h2/echo", body.length);
        c.data(stream, body, true);
        c.awaitResponseBytes(stream, 65_535);
        c.reset(stream);
        stream += 2;
      }
      // a normal request on the same connection still gets through, both ways
      c.post(stream, "/h2/echo", 5);
      c.data(stream, "hello".getBytes(StandardCharsets.US_ASCII), true);
      assertThat(c.awaitResponse(stream)).isEqualTo("hello");
      // what the proxy has not credited back yet stays under Netty's update threshold (half the window)
      c.awaitConnectionWindow(1_048_576 / 2);
    }
  }

  @Test
  void anIncompleteFrameThenSilenceDoesNotTouchOtherConnections() throws Exception {
    try (Socket s = h2Socket()) {
      s.getOutputStream().write(new byte[] {0, 0, 100, 0});
      assertThat(h2Get(front, "other", "/h2/z").body()).isEqualTo("h2 HTTP_2 other /h2/z");
    }
  }

  /** A connection to the front listener that has sent the HTTP/2 preface and an empty SETTINGS frame. */
  private Socket h2Socket() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", front), 5000);
    s.setSoTimeout(10_000);
    s.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().write(frame(4, 0, 0, new byte[0]));
    return s;
  }

  /**
   * A raw HTTP/2 client that keeps count of its send windows as the proxy grants them (initial SETTINGS,
   * WINDOW_UPDATE) and spends them (DATA), so a test can see whether the proxy credits back what it received.
   * A reader thread takes the proxy's frames; the test's thread writes.
   */
  private static final class WindowTrackingClient implements AutoCloseable {
    private static final int MAX_FRAME = 16_384;
    private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(15);
    private final Socket socket;
    private final OutputStream out;
    private final Thread reader;
    private long connectionWindow = 65_535;
    private long initialStreamWindow = 65_535;
    private final java.util.Map<Integer, Long> streamWindows = new java.util.HashMap<>();
    private final java.util.Set<Integer> resets = new java.util.HashSet<>();
    private final java.util.Set<Integer> withheld = new java.util.HashSet<>();
    private final java.util.Map<Integer, ByteArrayOutputStream> bodies = new java.util.HashMap<>();
    private final java.util.Set<Integer> ended = new java.util.HashSet<>();
    private final java.util.Map<Integer, byte[]> responseHeaders = new java.util.HashMap<>();
    private String failure;

    WindowTrackingClient(Socket socket) throws IOException {
      this.socket = socket;
      this.out = socket.getOutputStream();
      socket.setSoTimeout(0);
      reader = new Thread(this::read, "h2-window-client");
      reader.setDaemon(true);
      reader.start();
    }

    private void read() {
      try {
        DataInputStream in = new DataInputStream(socket.getInputStream());
        while (true) {
          Frame f = Frame.read(in);
          synchronized (this) {
            switch (f.type()) {
              case 0 -> {
                bodies.computeIfAbsent(f.stream(), s -> new ByteArrayOutputStream()).writeBytes(f.payload());
                if ((f.flags() & 1) != 0) {
                  ended.add(f.stream());
                }
                if (f.payload().length > 0) {
                  // a well-behaved reader: what it has read is credited back at once, stream and connection
                  write(frame(8, 0, 0, windowIncrement(f.payload().length)));
                  if (!withheld.contains(f.stream())) {
                    write(frame(8, 0, f.stream(), windowIncrement(f.payload().length)));
                  }
                }
              }
              case 1 -> {
                responseHeaders.put(f.stream(), f.payload());
                if ((f.flags() & 1) != 0) {
                  ended.add(f.stream());
                }
              }
              case 3 -> resets.add(f.stream());
              case 4 -> {
                if ((f.flags() & 1) == 0) {
                  java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(f.payload());
                  while (b.remaining() >= 6) {
                    int id = b.getShort() & 0xffff;
                    long value = b.getInt() & 0xffffffffL;
                    if (id == 4) {
                      long delta = value - initialStreamWindow;
                      initialStreamWindow = value;
                      streamWindows.replaceAll((s, w) -> w + delta);
                    }
                  }
                  write(frame(4, 1, 0, new byte[0]));
                }
              }
              case 7 -> failure = "GOAWAY " + java.nio.ByteBuffer.wrap(f.payload(), 4, 4).getInt();
              case 8 -> {
                long increment = java.nio.ByteBuffer.wrap(f.payload()).getInt() & 0x7fffffffL;
                if (f.stream() == 0) {
                  connectionWindow += increment;
                } else {
                  streamWindows.merge(f.stream(), increment, Long::sum);
                }
              }
              default -> { }
            }
            notifyAll();
          }
        }
      } catch (IOException e) {
        synchronized (this) {
          if (failure == null) {
            failure = "connection closed: " + e;
          }
          notifyAll();
        }
      }
    }

    private static byte[] windowIncrement(int bytes) {
      return java.nio.ByteBuffer.allocate(4).putInt(bytes).array();
    }

    private synchronized void write(byte[] frame) {
      try {
        out.write(frame);
        out.flush();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    /** A POST with :path and :authority as HPACK literals, and a content-length. */
    void post(int stream, String path, int contentLength) {
      ByteArrayOutputStream block = new ByteArrayOutputStream();
      block.write(0x83);
      block.write(0x86);
      literal(block, 0x04, path);
      literal(block, 0x01, "window.test");
      block.write(0x0f);
      block.write(28 - 15);
      String length = Integer.toString(contentLength);
      block.write(length.length());
      block.writeBytes(length.getBytes(StandardCharsets.US_ASCII));
      synchronized (this) {
        streamWindows.put(stream, initialStreamWindow);
        write(frame(1, 4, stream, block.toByteArray()));
      }
    }

    private static void literal(ByteArrayOutputStream block, int nameIndex, String value) {
      block.write(nameIndex);
      block.write(value.length());
      block.writeBytes(value.getBytes(StandardCharsets.US_ASCII));
    }

    /** Sends {@code body} as the windows allow; stops early if the proxy resets the stream. */
    void data(int stream, byte[] body, boolean endStream) throws InterruptedException {
      int offset = 0;
      do {
        int size = Math.min(MAX_FRAME, body.length - offset);
        synchronized (this) {
          long deadline = System.nanoTime() + WAIT_NANOS;
          while (!resets.contains(stream) && (connectionWindow < size || streamWindows.get(stream) < size)) {
            checkFailure();
            long left = deadline - System.nanoTime();
            if (left <= 0) {
              throw new AssertionError("stream " + stream + " cannot send " + size + " bytes for 15 s: connection window "
                  + connectionWindow + ", stream window " + streamWindows.get(stream));
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
          }
          if (resets.contains(stream)) {
            return;
          }
          connectionWindow -= size;
          streamWindows.merge(stream, (long) -size, Long::sum);
          boolean last = offset + size == body.length;
          write(frame(0, last && endStream ? 1 : 0, stream, java.util.Arrays.copyOfRange(body, offset, offset + size)));
        }
        offset += size;
      } while (offset < body.length);
    }

    /** What the proxy sends on {@code stream} is still credited to the connection, not to the stream: it stalls. */
    synchronized void withholdStreamCredit(int stream) {
      withheld.add(stream);
    }

    synchronized void awaitResponseBytes(int stream, int bytes) throws InterruptedException {
      await(() -> bodies.containsKey(stream) && bodies.get(stream).size() >= bytes, bytes + " response bytes on stream " + stream);
    }

    void reset(int stream) {
      write(frame(3, 0, stream, new byte[] {0, 0, 0, 8}));
    }

    synchronized void awaitReset(int stream) throws InterruptedException {
      await(() -> resets.contains(stream), "RST_STREAM on stream " + stream);
    }

    /** The response body once the stream has ended, after a :status 200. */
    synchronized String awaitResponse(int stream) throws InterruptedException {
      await(() -> ended.contains(stream) || resets.contains(stream), "the end of stream " + stream);
      assertThat(resets).as("reset streams").doesNotContain(stream);
      // :status 200 is HPACK static table entry 8
      assertThat(responseHeaders.get(stream)[0] & 0xff).as("first header of the response").isEqualTo(0x88);
      return bodies.getOrDefault(stream, new ByteArrayOutputStream()).toString(StandardCharsets.US_ASCII);
    }

    synchronized void awaitConnectionWindow(long atLeast) throws InterruptedException {
      await(() -> connectionWindow >= atLeast, "a connection window of " + atLeast + " (it is " + connectionWindow + ")");
    }

    private void await(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
      long deadline = System.nanoTime() + WAIT_NANOS;
      while (!condition.getAsBoolean()) {
        checkFailure();
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("no " + what + " within 15 s");
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }

    private void checkFailure() {
      if (failure != null) {
        throw new AssertionError(failure);
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /** One HTTP/2 frame as read off the wire. */
  record Frame(int type, int flags, int stream, byte[] payload) {
    static Frame read(DataInputStream in) throws IOException {
      int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
      int type = in.readUnsignedByte();
      int flags = in.readUnsignedByte();
      int stream = in.readInt() & 0x7fffffff;
      return new Frame(type, flags, stream, in.readNBytes(length));
    }
  }

  private static byte[] frame(int type, int flags, int stream, byte[] payload) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(payload.length >>> 16);
    b.write(payload.length >>> 8);
    b.write(payload.length);
    b.write(type);
    b.write(flags);
    b.write(stream >>> 24);
    b.write(stream >>> 16);
    b.write(stream >>> 8);
    b.write(stream);
    b.writeBytes(payload);
    return b.toByteArray();
  }

  record Reply(int status, HttpVersion version, MultiMap headers, String body) {
  }

  /**
   * Chain it inside the callback that sends ({@code req -> req.send().compose(Http2Test::reply)}), never as a
   * second {@code compose} built on the test's thread: Vert.x completes {@code body()} only if it was asked for
   * before the response's end is handled, and a headers-only answer (a local reply, Trailers-Only) ends as its
   * headers arrive — the chained one then raced the event loop and, under load, waited forever.
   */
  private static Future<Reply> reply(HttpClientResponse r) {
    return r.body().map(b -> new Reply(r.statusCode(), r.version(), r.headers(), b.toString()));
  }

  private Reply h2Get(int port, String authority, String path) throws Exception {
    return await(h2Client.request(options(port, authority, path)).compose(r -> r.send().compose(Http2Test::reply)));
  }

  private static RequestOptions options(int port, String authority, String path) {
    int colon = authority.indexOf(':');
    return new RequestOptions().setServer(io.vertx.core.net.SocketAddress.inetSocketAddress(port, "127.0.0.1"))
        .setHost(colon < 0 ? authority : authority.substring(0, colon))
        .setPort(colon < 0 ? 80 : Integer.parseInt(authority.substring(colon + 1)))
        .setURI(path);
  }

  private long stat(String name) {
    for (String line : proxy.stats().text().split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Long.parseLong(line.substring(name.length() + 2));
      }
    }
    throw new AssertionError("no stat " + name);
  }

  /** An h2c client with prior knowledge, all its requests multiplexed on one connection. */
  private HttpClient newH2Client() {
    return vertx.httpClientBuilder()
        .with(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false))
        .with(new PoolOptions().setHttp2MaxSize(1))
        .build();
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
