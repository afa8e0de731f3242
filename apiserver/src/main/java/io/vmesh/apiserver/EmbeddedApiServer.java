package io.vmesh.apiserver;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;

/** fabric8's {@link KubernetesMockServer} in CRUD mode behind {@link ApiDispatcher}, over plain HTTP. */
public final class EmbeddedApiServer implements AutoCloseable {

  /** Namespaces every cluster starts with. */
  static final List<String> INITIAL_NAMESPACES = List.of("default", "kube-system", "kube-public", "kube-node-lease");

  private final String host;
  private final KubernetesMockServer server;
  private final ApiDispatcher dispatcher;

  private EmbeddedApiServer(String host, Clock clock) {
    this.host = host;
    this.dispatcher = new ApiDispatcher(clock, this::hostPort);
    this.server = new KubernetesMockServer(new Context(Serialization.jsonMapper()), new MockWebServer(),
        new HashMap<>(), dispatcher, false);
  }

  /** Starts serving on {@code host:port} ({@code port} 0 picks a free one). */
  public static EmbeddedApiServer start(String host, int port, Clock clock) throws UnknownHostException {
    EmbeddedApiServer s = new EmbeddedApiServer(host, clock);
    s.server.init(InetAddress.getByName(host), port);
    ObjectMapper json = new ObjectMapper();
    for (String ns : INITIAL_NAMESPACES) {
      ObjectNode namespace = json.createObjectNode().put("apiVersion", "v1").put("kind", "Namespace");
      namespace.putObject("metadata").put("name", ns);
      namespace.putObject("status").put("phase", "Active");
      s.dispatcher.create("/api/v1/namespaces", namespace);
    }
    return s;
  }

  public int port() {
    return server.getPort();
  }

  /** The base URL clients use, e.g. {@code http://127.0.0.1:43117}. */
  public String url() {
    return "http://" + hostPort();
  }

  private String hostPort() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + server.getPort();
  }

  @Override
  public void close() {
    server.destroy();
  }
}
