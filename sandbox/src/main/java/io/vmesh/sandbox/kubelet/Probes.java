package io.vmesh.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HTTPHeader;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Probe;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * The kubelet's probe and handler actions, made from the node namespace to the pod's IP (where the kubelet sits
 * on a real node): httpGet (2xx or 3xx is success), tcpSocket (a connection opens), exec (exit code 0 in the
 * container). gRPC probes are not supported and fail, saying so.
 */
final class Probes {

  private Probes() {
  }

  /** Runs {@code probe} once; {@code exec} runs a command in the container and returns its exit code. */
  static boolean check(Probe probe, Container c, String podIp, Function<List<String>, Integer> exec) {
    Duration timeout = Duration.ofSeconds(probe.getTimeoutSeconds() == null ? 1 : probe.getTimeoutSeconds());
    if (probe.getHttpGet() != null) {
      return httpGet(probe.getHttpGet(), c, podIp, timeout);
    }
    if (probe.getTcpSocket() != null) {
      return tcp(host(probe.getTcpSocket().getHost(), podIp), port(probe.getTcpSocket().getPort(), c), timeout);
    }
    if (probe.getExec() != null) {
      return exec.apply(probe.getExec().getCommand()) == 0;
    }
    return false;
  }

  static boolean tcp(String host, int port, Duration timeout) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** An HTTP/1.1 GET; true for a 2xx or 3xx status, as the kubelet counts it. */
  static boolean httpGet(HTTPGetAction get, Container c, String podIp, Duration timeout) {
    if ("HTTPS".equalsIgnoreCase(get.getScheme())) {
      // the kubelet skips certificate checks for HTTPS probes; a TLS handshake without checks is not worth it here
      return tcp(host(get.getHost(), podIp), port(get.getPort(), c), timeout);
    }
    String host = host(get.getHost(), podIp);
    int port = port(get.getPort(), c);
    String path = get.getPath() == null || get.getPath().isEmpty() ? "/" : get.getPath();
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
      s.setSoTimeout((int) timeout.toMillis());
      StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port
          + "\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n");
      if (get.getHttpHeaders() != null) {
        for (HTTPHeader h : get.getHttpHeaders()) {
          req.append(h.getName()).append(": ").append(h.getValue()).append("\r\n");
        }
      }
      req.append("\r\n");
      OutputStream out = s.getOutputStream();
      out.write(req.toString().getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] head = new byte[12];
      int n = 0;
      while (n < head.length) {
        int r = in.read(head, n, head.length - n);
        if (r < 0) {
          break;
        }
        n += r;
      }
      String status = new String(head, 0, n, StandardCharsets.US_ASCII);
      if (!status.startsWith("HTTP/1.") || status.length() < 12) {
        return false;
      }
      int code = Integer.parseInt(status.substring(9, 12));
      return code >= 200 && code < 400;
    } catch (IOException | NumberFormatException e) {
      return false;
    }
  }

  static String host(String host, String podIp) {
    return host == null || host.isEmpty() ? podIp : host;
  }

  /** A port number, or a container port's name. */
  static int port(IntOrString port, Container c) {
    if (port == null) {
      throw new IllegalArgumentException("container " + c.getName() + ": probe without a port");
    }
    if (port.getIntVal() != null) {
      return port.getIntVal();
    }
    String name = port.getStrVal();
    if (name.matches("\\d+")) {
      return Integer.parseInt(name);
    }
    if (c.getPorts() != null) {
      for (ContainerPort p : c.getPorts()) {
        if (name.equals(p.getName())) {
          return p.getContainerPort();
        }
      }
    }
    throw new IllegalArgumentException("container " + c.getName() + " has no port named " + name);
  }
}
