package io.vmesh.sandbox.apps;

import com.google.protobuf.StringValue;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The client side of the transparency matrix: makes every connection it is given at once, each with a real client of
 * its protocol, and prints one line per connection for the test to judge:
 * {@code cell <id> ok|fail millis=<n> local=<ip:port or -> answer=<what came back, or the error>}.
 * A connection is {@code ID=KIND@HOST:PORT} (IPv6 as {@code [fd88::11]:8080}); KIND is {@code http1}, {@code h2c}
 * (HTTP/2 with prior knowledge), {@code grpc}, {@code tcp} (echo), {@code tls} (echo, SNI and CA from the options) or
 * {@code first} (the server speaks first; {@code millis} is how long its greeting took).
 */
@Command(name = "matrix-client", mixinStandardHelpOptions = true, description = "Sample app: the transparency matrix's client.")
public final class MatrixClient implements Callable<Integer> {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "ID=KIND@HOST:PORT", arity = "1..*")
  List<String> connections;

  @Option(names = "--timeout-seconds", description = "Per connection (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds = 15;

  @Option(names = "--sni", description = "Server name the tls connections send (default: ${DEFAULT-VALUE}).")
  String sni = "matrix.example";

  @Option(names = "--ca", paramLabel = "PEM", description = "The only certificate the tls connections trust.")
  Path ca;

  private record Outcome(boolean ok, long millis, String local, String answer) {
  }

  @Override
  public Integer call() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      List<String> ids = new ArrayList<>();
      List<CompletableFuture<Outcome>> outcomes = new ArrayList<>();
      for (String c : connections) {
        int eq = c.indexOf('=');
        int at = c.indexOf('@');
        if (eq < 1 || at < eq) {
          throw new CommandLine.ParameterException(spec.commandLine(), "not ID=KIND@HOST:PORT: " + c);
        }
        ids.add(c.substring(0, eq));
        String kind = c.substring(eq + 1, at);
        InetSocketAddress target = parse(c.substring(at + 1));
        outcomes.add(run(vertx, kind, target, c.substring(0, eq)));
      }
      for (int i = 0; i < ids.size(); i++) {
        Outcome o;
        try {
          o = outcomes.get(i).get(timeoutSeconds + 5L, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          o = new Outcome(false, -1, "-", String.valueOf(e.getCause()));
        } catch (java.util.concurrent.TimeoutException e) {
          o = new Outcome(false, -1, "-", "no answer within " + timeoutSeconds + " s");
        }
        spec.commandLine().getOut().println("cell " + ids.get(i) + " " + (o.ok() ? "ok" : "fail") + " millis=" + o.millis()
            + " local=" + o.local() + " answer=" + o.answer().strip().replace('\n', '|'));
      }
      spec.commandLine().getOut().flush();
      return 0;
    } finally {
      vertx.close().await();
    }
  }

  static InetSocketAddress parse(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    String host = hostPort.substring(0, colon);
    if (host.startsWith("[")) {
      host = host.substring(1, host.length() - 1);
    }
    return new InetSocketAddress(host, Integer.parseInt(hostPort.substring(colon + 1)));
  }

  private CompletableFuture<Outcome> run(Vertx vertx, String kind, InetSocketAddress target, String id) {
    long start = System.nanoTime();
    return switch (kind) {
      case "http1", "h2c" -> http(vertx, kind.equals("h2c"), target, id, start);
      case "grpc" -> grpc(vertx, target, id, start);
      // a thread each: the common pool has one thread on a two-core machine, and would time them one after another
      case "tcp", "tls", "first" -> CompletableFuture.supplyAsync(() -> socket(kind, target, id), r -> {
        Thread t = new Thread(r, "matrix-" + id);
        t.setDaemon(true);
        t.start();
      });
      default -> throw new CommandLine.ParameterException(spec.commandLine(), "unknown KIND " + kind + " (http1, h2c, grpc, tcp, tls, first)");
    };
  }

  private CompletableFuture<Outcome> http(Vertx vertx, boolean h2c, InetSocketAddress target, String id, long start) {
    HttpClientOptions options = new HttpClientOptions().setConnectTimeout(timeoutSeconds * 1000);
    if (h2c) {
      options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
    }
    HttpClientAgent client = vertx.createHttpClient(options);
    String[] local = {"-"};
    Future<Outcome> f = client.request(new RequestOptions().setMethod(HttpMethod.GET).setServer(SocketAddress.inetSocketAddress(target))
            .setHost(host(target)).setPort(target.getPort()).setURI("/matrix/" + id).setIdleTimeout(timeoutSeconds * 1000L))
        .compose(req -> {
          local[0] = hostPort(req.connection().localAddress().hostAddress(), req.connection().localAddress().port());
          return req.send();
        })
        .compose(resp -> resp.body().map(body -> new Outcome(resp.statusCode() == 200, millis(start), local[0],
            resp.version() + " " + resp.statusCode() + " " + body)));
    return f.eventually(client::close).toCompletionStage().toCompletableFuture();
  }

  private CompletableFuture<Outcome> grpc(Vertx vertx, InetSocketAddress target, String id, long start) {
    GrpcClient client = GrpcClient.client(vertx);
    // request(Address, method) of vertx-grpc 5.0.7 writes an IPv6 :authority without brackets (fd88::10:8081), which
    // a conforming server refuses; name the authority as any gRPC client would
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setServer(SocketAddress.inetSocketAddress(target))
        .setHost(host(target)).setPort(target.getPort());
    Future<Outcome> f = ((io.vertx.grpc.client.impl.GrpcClientImpl) client).request(options).compose(req -> {
      req.serviceName(MatrixServer.SERVICE).methodName(MatrixServer.METHOD);
      req.end(io.vertx.core.buffer.Buffer.buffer(StringValue.of(id).toByteArray()));
      return req.response().compose(resp -> resp.last().map(last -> {
        try {
          return new Outcome(resp.status() == GrpcStatus.OK, millis(start), "-",
              "grpc-status " + resp.status().name() + " " + StringValue.parseFrom(last.getBytes()).getValue());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          return new Outcome(false, millis(start), "-", "grpc-status " + resp.status().name() + ", not a StringValue: " + e.getMessage());
        }
      }));
    });
    return f.eventually(client::close).toCompletionStage().toCompletableFuture();
  }

  private Outcome socket(String kind, InetSocketAddress target, String id) {
    long start = System.nanoTime();
    Socket s = null;
    try {
      s = kind.equals("tls") ? tlsSocket() : new Socket();
      s.setSoTimeout(timeoutSeconds * 1000);
      s.connect(target, timeoutSeconds * 1000);
      // for the server-first protocol, millis is from the connection to the greeting: what sniffing would delay
      long connected = System.nanoTime();
      String local = hostPort(s.getLocalAddress().getHostAddress(), s.getLocalPort());
      InputStream in = s.getInputStream();
      switch (kind) {
        case "tcp" -> {
          s.getOutputStream().write(("echo " + id).getBytes(StandardCharsets.UTF_8));
          s.shutdownOutput();
          String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
          return new Outcome(answer.equals("echo " + id), millis(start), local, answer);
        }
        case "tls" -> {
          SSLSocket tls = (SSLSocket) s;
          tls.startHandshake();
          X509Certificate peer = (X509Certificate) tls.getSession().getPeerCertificates()[0];
          String greeting = readLine(in);
          tls.getOutputStream().write(("echo " + id + "\n").getBytes(StandardCharsets.UTF_8));
          tls.getOutputStream().flush();
          String echoed = readLine(in);
          return new Outcome(echoed.equals("echo " + id), millis(start), local,
              greeting + " | " + echoed + " | peer " + peer.getSubjectX500Principal().getName());
        }
        default -> {
          String greeting = readLine(in);
          long greeted = millis(connected);
          s.getOutputStream().write(("hello " + id + "\n").getBytes(StandardCharsets.UTF_8));
          s.getOutputStream().flush();
          String answer = readLine(in);
          return new Outcome(answer.endsWith("got hello " + id), greeted, local, greeting + " | " + answer);
        }
      }
    } catch (IOException | java.security.GeneralSecurityException | RuntimeException e) {
      return new Outcome(false, millis(start), "-", e.toString());
    } finally {
      if (s != null) {
        try {
          s.close();
        } catch (IOException e) {
          // closing after the verdict; nothing to add
        }
      }
    }
  }

  /** A TLS socket that trusts only {@link #ca} and sends {@link #sni}. */
  private Socket tlsSocket() throws IOException, java.security.GeneralSecurityException {
    if (ca == null) {
      throw new IllegalArgumentException("tls needs --ca");
    }
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream pem = Files.newInputStream(ca)) {
      trust.setCertificateEntry("matrix", CertificateFactory.getInstance("X.509").generateCertificate(pem));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket();
    SSLParameters params = s.getSSLParameters();
    params.setServerNames(List.of(new SNIHostName(sni)));
    // the certificate names the SNI host: checking it proves the bytes came from the app, not from a proxy
    params.setEndpointIdentificationAlgorithm("HTTPS");
    s.setSSLParameters(params);
    return s;
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b = in.read(); b >= 0 && b != '\n'; b = in.read()) {
      line.write(b);
    }
    return line.toString(StandardCharsets.UTF_8);
  }

  /** {@code ip:port}, IPv6 as {@code [ip]:port}. */
  static String hostPort(String ip, int port) {
    return (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + port;
  }

  /** The Host / :authority text: IPv6 in its RFC 5952 form ({@code [fd00:10:96::a]}), as a URL names it, not Java's long form. */
  private static String host(InetSocketAddress a) {
    String h = io.netty.util.NetUtil.toAddressString(a.getAddress());
    return h.contains(":") ? "[" + h + "]" : h;
  }

  private static long millis(long start) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }
}
