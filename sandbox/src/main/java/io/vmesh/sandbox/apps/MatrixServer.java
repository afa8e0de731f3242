package io.vmesh.sandbox.apps;

import com.google.protobuf.StringValue;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.parsetools.RecordParser;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A sample app for the transparency matrix: one pod serving every protocol the mesh must carry untouched, each on
 * its own port, on IPv4 and IPv6 ({@code ::}): HTTP/1.1 and h2c (prior knowledge) on two ports, a real gRPC unary
 * method, a TCP echo (twice, so one port can be excluded from capture), a TLS echo that reports the SNI it got, and
 * a protocol where the server speaks first.
 */
@Command(name = "matrix-server", mixinStandardHelpOptions = true,
    description = "Sample app: HTTP/1.1, h2c, gRPC, TCP echo, TLS echo (SNI) and a server-first protocol, dual-stack.")
public final class MatrixServer implements Callable<Integer> {

  /** {@code vmesh.matrix.Echo/Say}: the request's text comes back prefixed with the serving pod. */
  public static final ServiceName SERVICE = ServiceName.create("vmesh.matrix.Echo");
  public static final String METHOD = "Say";
  static final ServiceMethod<StringValue, StringValue> SAY = ServiceMethod.server(SERVICE, METHOD, GrpcMessageEncoder.encoder(),
      GrpcMessageDecoder.decoder(StringValue.newBuilder()));

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--name", description = "Who answers (default: $HOSTNAME).")
  String name = System.getenv().getOrDefault("HOSTNAME", "matrix");

  @Option(names = "--http-ports", split = ",", description = "HTTP/1.1 and h2c (default: ${DEFAULT-VALUE}).")
  List<Integer> httpPorts = List.of(8080, 8082);

  @Option(names = "--grpc-port", description = "gRPC (default: ${DEFAULT-VALUE}).")
  int grpcPort = 8081;

  @Option(names = "--echo-ports", split = ",", description = "TCP echo (default: ${DEFAULT-VALUE}).")
  List<Integer> echoPorts = List.of(7000, 7001);

  @Option(names = "--tls-port", description = "TLS echo, needs --tls-cert and --tls-key (default: ${DEFAULT-VALUE}).")
  int tlsPort = 8443;

  @Option(names = "--tls-cert", paramLabel = "PEM")
  String tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM")
  String tlsKey;

  @Option(names = "--first-ports", split = ",", description = "Server-first line protocol (default: ${DEFAULT-VALUE}).")
  List<Integer> firstPorts = List.of(9091, 9092);

  @Option(names = "--address", description = "Where to listen; '::' takes IPv4 and IPv6 (default: ${DEFAULT-VALUE}).")
  String address = "::";

  @Override
  public Integer call() throws Exception {
    Vertx vertx = Vertx.vertx();
    List<Future<?>> listening = new ArrayList<>();
    for (int port : httpPorts) {
      listening.add(vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(true))
          .requestHandler(req -> req.body().onComplete(body -> req.response().putHeader("content-type", "text/plain")
              .end("matrix " + name + " " + req.version() + " " + req.method() + " " + req.path() + "\n")))
          .listen(port, address));
    }
    GrpcServer grpc = GrpcServer.server(vertx).callHandler(SAY, call -> call.handler(message ->
        call.response().end(StringValue.of("matrix " + name + " grpc " + message.getValue()))));
    listening.add(vertx.createHttpServer(new HttpServerOptions().setHttp2ClearTextEnabled(true)).requestHandler(grpc)
        .listen(grpcPort, address));
    for (int port : echoPorts) {
      listening.add(vertx.createNetServer().connectHandler(s -> {
        accepted("echo", s);
        s.pipeTo(s);
      }).listen(port, address));
    }
    if (tlsCert != null && tlsKey != null) {
      listening.add(vertx.createNetServer(new NetServerOptions().setSsl(true).setSni(true)
          .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tlsCert).setKeyPath(tlsKey))).connectHandler(s -> {
            accepted("tls", s);
            // the name the client asked for reaches the app only when nobody terminated TLS on the way
            s.write("tls " + name + " sni=" + s.indicatedServerName() + "\n");
            s.pipeTo(s);
          }).listen(tlsPort, address));
    }
    for (int port : firstPorts) {
      listening.add(vertx.createNetServer().connectHandler(s -> {
        accepted("first", s);
        s.write("matrix " + name + " ready\n");
        RecordParser lines = RecordParser.newDelimited("\n", s);
        lines.handler(line -> {
          lines.pause();
          s.end(Buffer.buffer("matrix " + name + " got " + line + "\n"));
        });
      }).listen(port, address));
    }
    Future.all(listening).await();
    print("matrix-server " + name + " listening on " + address + " http " + httpPorts + " grpc " + grpcPort + " echo " + echoPorts
        + (tlsCert != null ? " tls " + tlsPort : "") + " first " + firstPorts);
    new CountDownLatch(1).await();
    return 0;
  }

  /** Who reached the app: tests tell a captured connection (from the sidecar) from a direct one by it. */
  private void accepted(String kind, NetSocket s) {
    print("matrix-server accepted " + kind + " peer=" + s.remoteAddress() + " local=" + s.localAddress());
  }

  private synchronized void print(String line) {
    spec.commandLine().getOut().println(line);
    spec.commandLine().getOut().flush();
  }
}
