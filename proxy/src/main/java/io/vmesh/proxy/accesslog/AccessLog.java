package io.vmesh.proxy.accesslog;

import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per finished connection, on standard output (the {@code vmesh.access} logger), in
 * {@code key=value} form. Byte counts are seen from the downstream side, as Envoy's
 * {@code %BYTES_RECEIVED%} / {@code %BYTES_SENT%}: received from the client, sent to the client.
 */
public final class AccessLog {

  private static final Logger LOG = LoggerFactory.getLogger("vmesh.access");

  /** How a connection ended; the words are the access log's {@code result} field. */
  public enum Result {
    OK, UPSTREAM_CONNECT_FAILED, LOOP_REFUSED, NO_ORIGINAL_DST,
    /** no filter chain matched and the listener has no default chain (Envoy's NR) */
    NO_FILTER_CHAIN,
    /** the cluster has no endpoint, a black hole such as BlackHoleCluster (Envoy's UH) */
    NO_HEALTHY_UPSTREAM,
    /** the listener filters did not finish within listener_filters_timeout */
    LISTENER_FILTER_TIMEOUT,
    /** HTTP: no virtual host or route matched (Envoy's NR) */
    NO_ROUTE,
    /** HTTP: the route timeout passed before the response was complete (Envoy's UT) */
    UPSTREAM_TIMEOUT,
    /** HTTP: the upstream connection closed or reset before the response headers (Envoy's UC) */
    UPSTREAM_RESET,
    /** HTTP: the request could not be parsed or its headers were too large (Envoy's DPE) */
    BAD_REQUEST
  }

  /** What an HTTP request adds to its line; {@code responseFlags} as Envoy's {@code %RESPONSE_FLAGS%}, "-" for none. */
  public record Http(String method, String path, int status, String responseFlags) {
  }

  /** What is known of one connection when it ends. */
  public record Entry(Instant start, String listener, InetSocketAddress downstream, InetSocketAddress originalDst,
                      String cluster, long bytesReceived, long bytesSent, long durationMillis, Result result, Http http) {

    /** A connection's line (tcp_proxy, or a connection refused before any request). */
    public Entry(Instant start, String listener, InetSocketAddress downstream, InetSocketAddress originalDst,
                 String cluster, long bytesReceived, long bytesSent, long durationMillis, Result result) {
      this(start, listener, downstream, originalDst, cluster, bytesReceived, bytesSent, durationMillis, result, null);
    }
  }

  public void log(Entry entry) {
    LOG.info(format(entry));
  }

  public static String format(Entry e) {
    return "[" + e.start() + "]"
        + " listener=" + e.listener()
        + " downstream=" + address(e.downstream())
        + " original_dst=" + address(e.originalDst())
        + " cluster=" + (e.cluster() == null ? "-" : e.cluster())
        + " bytes_received=" + e.bytesReceived()
        + " bytes_sent=" + e.bytesSent()
        + " duration_ms=" + e.durationMillis()
        + " result=" + e.result()
        + (e.http() == null ? "" : " method=" + e.http().method() + " path=" + e.http().path()
            + " status=" + e.http().status() + " response_flags=" + e.http().responseFlags());
  }

  private static String address(InetSocketAddress a) {
    if (a == null) {
      return "-";
    }
    String host = a.getAddress() == null ? a.getHostString() : NetUtil.toAddressString(a.getAddress());
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
  }
}
