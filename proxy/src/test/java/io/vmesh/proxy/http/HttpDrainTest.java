package io.vmesh.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.proxy.Await;
import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import io.vmesh.proxy.xds.TestOrigin;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * HCM {@code drain_timeout} on real sockets when the listener drains ({@code /drain_listeners}'s path):
 * HTTP/1.1 gets {@code Connection: close}, an idle connection is closed after drain_timeout, a request in
 * flight finishes; HTTP/2 gets the graceful GOAWAY, a stream racing it is served, then the final GOAWAY
 * naming that stream after drain_timeout, then the close.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpDrainTest {

  private static final String HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  // long enough that a loaded machine still opens the racing stream before the final GOAWAY
  private static final long DRAIN_TIMEOUT_MS = 1500;

  private TestOrigin upstream;
  private ProxyServer proxy;
  private int port;

  @BeforeEach
  void start() throws Exception {
    upstream = new TestOrigin("ok", () -> {
      try {
        Thread.sleep(2 * DRAIN_TIMEOUT_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    port = freePort();
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0, "127.0.0.1", 0, 30_000), config("front", port));
    proxy.start();
  }

  /** One HTTP listener, {@code name} on {@code listenerPort}, routing everything to the origin. */
  private RuntimeConfig config(String name, int listenerPort) throws Exception {
    return RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: %s
            address: { socket_address: { address: 127.0.0.1, port_value: %d } }
            filter_chains: [ { filters: [ { name: hcm, typed_config: { "@type": "%s", stat_prefix: front, drain_timeout: %ss,
              route_config: { virtual_hosts: [ { name: all, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: up } } ] } ] } } } ] } ]
          clusters:
          - { name: up, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ] } ] } }
        """.formatted(name, listenerPort, HCM, java.math.BigDecimal.valueOf(DRAIN_TIMEOUT_MS, 3).toPlainString(), upstream.port()), false), Clock.systemUTC());
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.stop();
    }
    upstream.close();
  }

  @Test
  void http1GetsConnectionCloseAnIdleConnectionIsClosedAfterDrainTimeoutAndARequestInFlightFinishes() throws Exception {
    try (RawHttp kept = new RawHttp(port); RawHttp idle = new RawHttp(port); RawHttp inFlight = new RawHttp(port)) {
      RawHttp.Response before = kept.send(RawHttp.request("GET", "x", "/before"));
      assertThat(before.headers()).doesNotContainKey("connection");
      assertThat(idle.send(RawHttp.request("GET", "x", "/idle")).text()).isEqualTo("ok /idle");
      inFlight.write(RawHttp.request("GET", "x", "/slow"));
      Thread.sleep(100);

      long drained = System.nanoTime();
      proxy.drainListeners(false);
      Thread.sleep(100);
      RawHttp.Response during = kept.send(RawHttp.request("GET", "x", "/during"));
      assertThat(during.text()).isEqualTo("ok /during");
      assertThat(during.headers()).containsEntry("connection", "close");
      assertThat(kept.closedByServer()).isTrue();

      RawHttp.Response slow = inFlight.read();
      assertThat(slow.text()).as("the request in flight at the drain finishes").isEqualTo("ok /slow");
      assertThat(slow.headers()).as("and its response says the connection ends").containsEntry("connection", "close");
      assertThat(inFlight.closedByServer()).isTrue();

      assertThat(idle.closedByServer()).as("closed between requests").isTrue();
      long idleClosedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - drained);
      assertThat(idleClosedMs).as("ms from the drain to the idle connection's close")
          .isGreaterThanOrEqualTo(DRAIN_TIMEOUT_MS - 50).isLessThan(20_000);
    }
  }

  @Test
  void aListenerRemovedByAnUpdateDrainsItsConnectionsAfterDrainTimeoutNotItsTenMinuteDeadline() throws Exception {
    try (RawHttp kept = new RawHttp(port); RawHttp idle = new RawHttp(port)) {
      assertThat(kept.send(RawHttp.request("GET", "x", "/before")).headers()).doesNotContainKey("connection");
      assertThat(idle.send(RawHttp.request("GET", "x", "/idle")).text()).isEqualTo("ok /idle");

      long removed = System.nanoTime();
      proxy.apply(config("elsewhere", freePort())).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
      // the removed listener is unbound after apply returns; its connections hear of the drain in the same step
      Await.until(() -> refused(port), "the removed listener to stop accepting", Duration.ofSeconds(20));
      Thread.sleep(300);
      RawHttp.Response during = kept.send(RawHttp.request("GET", "x", "/during"));
      assertThat(during.text()).isEqualTo("ok /during");
      assertThat(during.headers()).containsEntry("connection", "close");
      assertThat(kept.closedByServer()).isTrue();
      assertThat(idle.closedByServer()).isTrue();
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - removed)).as("ms to the idle connection's close")
          .isLessThan(20_000);
    }
  }

  @Test
  void http2GetsTheGracefulGoAwayThenTheFinalOneAfterDrainTimeoutAndItsStreamsFinish() throws Exception {
    try (H2 h2 = new H2(port)) {
      h2.get(1, "/before");
      assertThat(h2.body(1)).isEqualTo("ok /before");

      long drained = System.nanoTime();
      proxy.drainListeners(false);
      H2.Frame first = h2.next(H2.GOAWAY);
      assertThat(first.goAwayLastStream()).as("the shutdown notice: every stream still welcome").isEqualTo(Integer.MAX_VALUE);
      assertThat(first.goAwayError()).isZero();

      // a stream racing the notice, still in flight when the final GOAWAY comes
      h2.get(3, "/slow");
      H2.Frame last = h2.next(H2.GOAWAY);
      long finalMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - drained);
      assertThat(last.goAwayLastStream()).as("the final GOAWAY names the last stream taken").isEqualTo(3);
      assertThat(last.goAwayError()).isZero();
      assertThat(finalMs).as("ms from the drain to the final GOAWAY").isGreaterThanOrEqualTo(DRAIN_TIMEOUT_MS - 50).isLessThan(20_000);
      assertThat(h2.body(3)).as("the stream in flight finishes").isEqualTo("ok /slow");
      assertThat(h2.closedByServer()).isTrue();
    }
  }

  /** Just enough HTTP/2 on a plain socket to see every frame the proxy sends, GOAWAYs included, in order. */
  private static final class H2 implements AutoCloseable {
    static final int DATA = 0;
    static final int SETTINGS = 4;
    static final int GOAWAY = 7;

    record Frame(int type, int flags, int stream, byte[] payload) {
      int goAwayLastStream() {
        return ByteBuffer.wrap(payload).getInt() & 0x7fffffff;
      }

      int goAwayError() {
        return ByteBuffer.wrap(payload).getInt(4);
      }
    }

    private final Socket socket;
    private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    private final Frame eof = new Frame(-1, 0, 0, new byte[0]);

    H2(int port) throws IOException {
      socket = new Socket();
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      frame(SETTINGS, 0, 0, new byte[0]);
      DataInputStream in = new DataInputStream(socket.getInputStream());
      Thread reader = new Thread(() -> {
        try {
          while (true) {
            int length = in.readUnsignedShort() << 8 | in.readUnsignedByte();
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            int stream = in.readInt() & 0x7fffffff;
            byte[] payload = in.readNBytes(length);
            if (type == SETTINGS && (flags & 1) == 0) {
              frame(SETTINGS, 1, 0, new byte[0]);
            }
            frames.add(new Frame(type, flags, stream, payload));
          }
        } catch (IOException e) {
          frames.add(eof);
        }
      }, "h2-frames");
      reader.setDaemon(true);
      reader.start();
    }

    /** GET {@code path} on {@code stream}: HPACK static-table entries and one literal authority, no Huffman. */
    void get(int stream, String path) throws IOException {
      byte[] p = path.getBytes(StandardCharsets.US_ASCII);
      ByteBuffer block = ByteBuffer.allocate(8 + p.length);
      block.put((byte) 0x82).put((byte) 0x86); // :method GET, :scheme http
      block.put((byte) 0x04).put((byte) p.length).put(p); // :path, literal without indexing
      block.put((byte) 0x41).put((byte) 1).put((byte) 'x'); // :authority x
      frame(1, 0x5, stream, java.util.Arrays.copyOf(block.array(), block.position())); // HEADERS, END_STREAM|END_HEADERS
    }

    /** The response body of {@code stream}, up to its END_STREAM; frames of other kinds in between are kept. */
    String body(int stream) throws Exception {
      StringBuilder body = new StringBuilder();
      while (true) {
        Frame f = next(DATA);
        if (f.stream() == stream) {
          body.append(new String(f.payload(), StandardCharsets.UTF_8));
          if ((f.flags() & 1) != 0) {
            return body.toString();
          }
        }
      }
    }

    /** The next frame of {@code type}; frames of other types before it are dropped, except GOAWAY which must not be. */
    Frame next(int type) throws Exception {
      while (true) {
        Frame f = frames.poll(20, TimeUnit.SECONDS);
        if (f == null || f == eof) {
          throw new EOFException("no frame of type " + type + " before " + (f == null ? "20 s passed" : "the connection closed"));
        }
        if (f.type() == type) {
          return f;
        }
        if (f.type() == GOAWAY) {
          throw new AssertionError("a GOAWAY (last stream " + f.goAwayLastStream() + ") came while waiting for frame type " + type);
        }
      }
    }

    boolean closedByServer() throws InterruptedException {
      for (Frame f = frames.poll(20, TimeUnit.SECONDS); f != null; f = frames.poll(20, TimeUnit.SECONDS)) {
        if (f == eof) {
          return true;
        }
      }
      return false;
    }

    private synchronized void frame(int type, int flags, int stream, byte[] payload) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(9 + payload.length);
      b.put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length);
      b.put((byte) type).put((byte) flags).putInt(stream).put(payload);
      write(b.array());
    }

    private synchronized void write(byte[] bytes) throws IOException {
      socket.getOutputStream().write(bytes);
      socket.getOutputStream().flush();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private static boolean refused(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
