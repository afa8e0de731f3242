package io.vmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class WaitCommandTest {

  private HttpServer server;

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private String start(int notReadyAnswers) throws Exception {
    AtomicInteger calls = new AtomicInteger();
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/healthz/ready", exchange -> {
      int status = calls.incrementAndGet() > notReadyAnswers ? 200 : 503;
      exchange.sendResponseHeaders(status, -1);
      exchange.close();
    });
    server.start();
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/healthz/ready";
  }

  @Test
  void returnsOnceTheProxyIsReady() throws Exception {
    String url = start(3);
    StringWriter out = new StringWriter();
    int exit = new CommandLine(new WaitCommand()).setOut(new PrintWriter(out)).execute("--url=" + url, "--period=10", "--timeout=10");
    assertThat(exit).isZero();
    assertThat(out.toString()).contains("is ready");
  }

  @Test
  void failsAfterTheTimeoutNamingTheLastAnswer() throws Exception {
    String url = start(Integer.MAX_VALUE);
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new WaitCommand()).setErr(new PrintWriter(err)).execute("--url=" + url, "--period=50", "--timeout=1");
    assertThat(exit).isEqualTo(1);
    assertThat(err.toString()).contains("not ready after 1 s").contains("HTTP 503");
  }
}
