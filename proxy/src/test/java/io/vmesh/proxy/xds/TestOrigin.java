package io.vmesh.proxy.xds;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An HTTP origin on loopback that answers every request with 200 and "{@code says} {@code path}"; a path
 * under {@code /slow} first runs {@code slow} (a request the test keeps in flight). Each request on its own thread.
 */
public final class TestOrigin implements AutoCloseable {

  private final HttpServer server;
  private final ExecutorService threads = Executors.newCachedThreadPool();

  public TestOrigin(String says, Runnable slow) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    server.setExecutor(threads);
    server.createContext("/", exchange -> {
      if (exchange.getRequestURI().getPath().startsWith("/slow")) {
        slow.run();
      }
      byte[] body = (says + " " + exchange.getRequestURI().getPath()).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
