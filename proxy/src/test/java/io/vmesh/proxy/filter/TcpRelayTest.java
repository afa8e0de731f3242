package io.vmesh.proxy.filter;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The relay between real loopback sockets, on the native epoll transport the proxy runs on. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TcpRelayTest {

  private Vertx vertx;
  private ServerSocket upstream;
  private NetServer relayServer;
  private final AtomicLong received = new AtomicLong();
  private final AtomicLong sent = new AtomicLong();
  private final CompletableFuture<long[]> relayDone = new CompletableFuture<>();
  private final CompletableFuture<Boolean> idleTimedOut = new CompletableFuture<>();
  private volatile long idleMillis;

  @BeforeEach
  void startRelay() throws Exception {
    vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1));
    assertThat(vertx.isNativeTransportEnabled()).as("native epoll transport").isTrue();
    upstream = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    NetClient client = vertx.createNetClient();
    relayServer = vertx.createNetServer().connectHandler(so -> {
      TcpRelay relay = new TcpRelay((NetSocketInternal) so, received::addAndGet, sent::addAndGet).idleTimeout(idleMillis);
      client.connect(SocketAddress.inetSocketAddress(upstream.getLocalPort(), "127.0.0.1"))
          .onSuccess(up -> relay.connect((NetSocketInternal) up)
              .onComplete(v -> {
                idleTimedOut.complete(relay.idleTimedOut());
                relayDone.complete(new long[] {relay.bytesReceived(), relay.bytesSent()});
              }))
          .onFailure(relayDone::completeExceptionally);
    });
    relayServer.listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    upstream.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void largeTransferRoundTripsIntactAndTheClientsFinReachesTheServer() throws Exception {
    serveUpstream(s -> {
      try (s; InputStream in = s.getInputStream()) {
        in.transferTo(s.getOutputStream()); // ends only when the relay forwards the client's FIN
        s.shutdownOutput();
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    byte[] data = new byte[32 * 1024 * 1024];
    new Random(42).nextBytes(data);
    try (Socket client = connectToRelay()) {
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        try {
          client.getOutputStream().write(data);
          client.shutdownOutput();
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      byte[] back = client.getInputStream().readAllBytes();
      writer.get(30, TimeUnit.SECONDS);
      assertThat(back.length).isEqualTo(data.length);
      assertThat(sha256(back)).isEqualTo(sha256(data));
    }
    long[] counts = relayDone.get(10, TimeUnit.SECONDS);
    assertThat(counts).containsExactly(data.length, data.length);
    assertThat(received.get()).isEqualTo(data.length);
    assertThat(sent.get()).isEqualTo(data.length);
  }

  @Test
  void aServerThatSpeaksFirstAndClosesIsRelayedToTheEnd() throws Exception {
    serveUpstream(s -> {
      try (s) {
        s.getOutputStream().write("220 banner\r\n".getBytes(StandardCharsets.US_ASCII));
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    try (Socket client = connectToRelay()) {
      assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("220 banner\r\n");
    }
    assertThat(relayDone.get(10, TimeUnit.SECONDS)).containsExactly(0, 12);
  }

  @Test
  void aClientThatHalfClosesStillGetsTheWholeReply() throws Exception {
    serveUpstream(s -> {
      try (s) {
        byte[] request = s.getInputStream().readAllBytes(); // until FIN
        s.getOutputStream().write(("got " + request.length + " bytes").getBytes(StandardCharsets.US_ASCII));
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    try (Socket client = connectToRelay()) {
      client.getOutputStream().write(new byte[1000]);
      client.shutdownOutput();
      assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("got 1000 bytes");
    }
    assertThat(relayDone.get(10, TimeUnit.SECONDS)).containsExactly(1000, 14);
  }

  @Test
  void anIdleConnectionIsClosedOnBothSidesAtTheIdleTimeout() throws Exception {
    idleMillis = 300;
    CompletableFuture<Integer> upstreamRead = new CompletableFuture<>();
    serveUpstream(s -> {
      try (s) {
        upstreamRead.complete(s.getInputStream().read());
      } catch (IOException e) {
        upstreamRead.complete(-2);
      }
    });
    try (Socket client = connectToRelay()) {
      long start = System.nanoTime();
      assertThat(client.getInputStream().read()).as("closed by the relay").isEqualTo(-1);
      assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(250));
    }
    assertThat(upstreamRead.get(10, TimeUnit.SECONDS)).as("the upstream side is closed too").isEqualTo(-1);
    assertThat(idleTimedOut.get(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void trafficEitherWayKeepsTheConnectionOpenPastTheIdleTimeout() throws Exception {
    idleMillis = 1000;
    serveUpstream(s -> {
      try (s; InputStream in = s.getInputStream()) {
        in.transferTo(s.getOutputStream());
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
    try (Socket client = connectToRelay()) {
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2500);
      while (System.nanoTime() < end) {
        client.getOutputStream().write('x');
        assertThat(client.getInputStream().read()).isEqualTo('x');
        Thread.sleep(100);
      }
      client.shutdownOutput();
      assertThat(client.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(idleTimedOut.get(10, TimeUnit.SECONDS)).as("it ended by FIN, not by the timer").isFalse();
  }

  private void serveUpstream(Consumer<Socket> handler) {
    Thread t = new Thread(() -> {
      try {
        handler.accept(upstream.accept());
      } catch (IOException e) {
        // closed by the test
      }
    }, "upstream");
    t.setDaemon(true);
    t.start();
  }

  private Socket connectToRelay() throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress("127.0.0.1", relayServer.actualPort()), 5000);
    s.setSoTimeout(30_000);
    return s;
  }

  private static byte[] sha256(byte[] data) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(data);
  }
}
