package io.vmesh.proxy.http;

import io.vmesh.proxy.ProxyServer;
import io.vmesh.proxy.config.BootstrapLoader;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * A proxy whose one HTTP listener routes everything to cluster {@code raw}: a plain socket server, each
 * accepted connection served by the test's own code, so the test controls every upstream byte and close.
 */
final class RawUpstreamProxy implements AutoCloseable {

  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final ServerSocket upstream;
  private final ProxyServer proxy;
  private final int front;

  RawUpstreamProxy(Consumer<Socket> serve) throws Exception {
    upstream = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    executor.submit(() -> {
      while (!upstream.isClosed()) {
        Socket s = upstream.accept();
        executor.submit(() -> serve.accept(s));
      }
      return null;
    });
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      front = s.getLocalPort();
    }
    String hcm = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    String router = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
    proxy = new ProxyServer(new ProxyServer.Settings(1, "127.0.0.1", 0), RuntimeConfigBuilder.build(BootstrapLoader.parse("""
        static_resources:
          listeners:
          - name: front
            address: { socket_address: { address: 127.0.0.1, port_value: %d } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": %s
                  stat_prefix: front
                  http_filters: [ { name: envoy.filters.http.router, typed_config: { "@type": %s } } ]
                  route_config: { virtual_hosts: [ { name: all, domains: [ "*" ], routes: [ { match: { prefix: / }, route: { cluster: raw } } ] } ] }
          clusters:
          - { name: raw, load_assignment: { endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } } } ] } ] } }
        """.formatted(front, hcm, router, upstream.getLocalPort()), false), Clock.systemUTC()));
    proxy.start();
  }

  int front() {
    return front;
  }

  long stat(String name) {
    return stat(proxy, name);
  }

  /** A counter or gauge of {@code proxy}'s {@code /stats}, by its Envoy name. */
  static long stat(ProxyServer proxy, String name) {
    for (String line : proxy.stats().text().split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Long.parseLong(line.substring(name.length() + 2));
      }
    }
    throw new AssertionError("no stat " + name);
  }

  /** A request's line and headers, read byte by byte so nothing after them is consumed; null at the end of the stream. */
  static String head(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < 4) {
      int c = in.read();
      if (c < 0) {
        return null;
      }
      b.write(c);
      matched = c == end[matched] ? matched + 1 : (c == '\r' ? 1 : 0);
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    proxy.stop();
    upstream.close();
    executor.shutdownNow();
  }
}
