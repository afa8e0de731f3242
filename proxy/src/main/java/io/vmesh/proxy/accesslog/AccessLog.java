package io.vmesh.proxy.accesslog;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One line per finished TCP connection or HTTP request, on standard output (buffered, see
 * {@link AccessLogSink}), in Istio's default sidecar text format (see {@link AccessLogFormat#ISTIO_DEFAULT}). Byte counts
 * are seen from the downstream side, as Envoy's {@code %BYTES_RECEIVED%} / {@code %BYTES_SENT%}.
 */
public final class AccessLog {

  /**
   * How a connection or request ended: Envoy's response flag for it ({@code -} for none) and its
   * {@code %RESPONSE_CODE_DETAILS%} (Envoy's words where it has them).
   */
  public enum Result {
    OK("-", "-"),
    UPSTREAM_CONNECT_FAILED("UF", "upstream_reset_before_response_started{connection_failure}"),
    /** the original destination is this proxy's own listener: forwarding would loop */
    LOOP_REFUSED("UH", "loop_refused"),
    /** a use_original_dst listener accepted a connection that was not redirected */
    NO_ORIGINAL_DST("NR", "no_original_dst"),
    /** no filter chain matched and the listener has no default chain */
    NO_FILTER_CHAIN("NR", "filter_chain_not_found"),
    /** the cluster has no endpoint, a black hole such as BlackHoleCluster, or every endpoint is ejected */
    NO_HEALTHY_UPSTREAM("UH", "no_healthy_upstream"),
    /** the listener filters did not finish within listener_filters_timeout */
    LISTENER_FILTER_TIMEOUT("-", "listener_filters_timeout"),
    /** tcp_proxy: no bytes either way for idle_timeout */
    IDLE_TIMEOUT("-", "idle_timeout"),
    /** HTTP: no virtual host or route matched */
    NO_ROUTE("NR", "route_not_found"),
    /** HTTP: the route timeout passed before the response was complete */
    UPSTREAM_TIMEOUT("UT", "upstream_response_timeout"),
    /** HTTP: the upstream connection closed or reset before the response headers */
    UPSTREAM_RESET("UC", "upstream_reset_before_response_started{connection_termination}"),
    /** HTTP: the upstream connection closed or reset after the response headers went downstream */
    UPSTREAM_RESET_AFTER_RESPONSE("UC", "upstream_reset_after_response_started{connection_termination}"),
    /** HTTP: the request could not be parsed or its headers were too large */
    BAD_REQUEST("DPE", "http1.codec_error"),
    /** HTTP: no byte either way for stream_idle_timeout */
    STREAM_IDLE_TIMEOUT("SI", "stream_idle_timeout"),
    /** HTTP: the whole request did not arrive within request_timeout */
    REQUEST_TIMEOUT("-", "request_overall_timeout"),
    /** HTTP/1.1: an Upgrade request whose type the route and connection manager do not enable (403) */
    UPGRADE_FAILED("-", "upgrade_failed");

    private final String flag;
    private final String details;

    Result(String flag, String details) {
      this.flag = flag;
      this.details = details;
    }

    public String flag() {
      return flag;
    }

    public String details() {
      return details;
    }
  }

  /**
   * What an HTTP request adds to its line. {@code responseFlags} as Envoy's {@code %RESPONSE_FLAGS%},
   * "-" for none; {@code requestHeader} looks up the request's headers as sent upstream (lower-case
   * names, {@code :authority}), returning null when absent.
   */
  public record Http(String method, String path, int status, String responseFlags, String protocol,
                     Function<String, String> requestHeader, String upstreamServiceTime, InetSocketAddress upstreamHost,
                     InetSocketAddress upstreamLocal) {

    public Http(String method, String path, int status, String responseFlags) {
      this(method, path, status, responseFlags, "HTTP/1.1", name -> null, null, null, null);
    }
  }

  /**
   * What is known of one connection or request when it ends.
   *
   * @param listener the listener that handled it (the hand-off target, if any)
   * @param chain the filter chain's name, null when none was chosen
   * @param originalDst the address the client dialled (Envoy's %DOWNSTREAM_LOCAL_ADDRESS%)
   * @param upstreamHost the endpoint dialled, null when none
   * @param upstreamLocal the local address of the upstream connection, null when none
   * @param serverName the TLS SNI the listener filters found, null when none
   * @param failureReason why the upstream connection failed (%UPSTREAM_TRANSPORT_FAILURE_REASON%), null when it did not
   */
  public record Entry(Instant start, String listener, String chain, InetSocketAddress downstream,
                      InetSocketAddress originalDst, String cluster, InetSocketAddress upstreamHost,
                      InetSocketAddress upstreamLocal, String serverName, long bytesReceived, long bytesSent,
                      long durationMillis, Result result, String failureReason, Http http) {

    /** An HTTP request's line, as the HTTP connection manager reports it; the connection's scope adds the rest. */
    public Entry(Instant start, String listener, InetSocketAddress downstream, InetSocketAddress originalDst,
                 String cluster, long bytesReceived, long bytesSent, long durationMillis, Result result, Http http) {
      this(start, listener, null, downstream, originalDst, cluster, http == null ? null : http.upstreamHost(),
          http == null ? null : http.upstreamLocal(), null, bytesReceived, bytesSent, durationMillis, result, null, http);
    }

    /** A connection's line (tcp_proxy, or a connection refused before any request). */
    public Entry(Instant start, String listener, InetSocketAddress downstream, InetSocketAddress originalDst,
                 String cluster, long bytesReceived, long bytesSent, long durationMillis, Result result) {
      this(start, listener, downstream, originalDst, cluster, bytesReceived, bytesSent, durationMillis, result, null);
    }

    Entry in(Scope scope) {
      return new Entry(start, listener, chain == null ? scope.chain() : chain, downstream, originalDst, cluster,
          upstreamHost, upstreamLocal, serverName == null ? scope.serverName() : serverName, bytesReceived, bytesSent,
          durationMillis, result, failureReason, http);
    }
  }

  /**
   * What a connection's entries share once its chain is chosen, and who else wants to see them (the
   * HTTP stats count requests from here).
   */
  public record Scope(String chain, String serverName, Consumer<Entry> observer) {
  }

  private final List<AccessLogger> loggers;
  private final Scope scope;

  public AccessLog() {
    this(AccessLogFormat.ISTIO_DEFAULT, AccessLogSink.stdout());
  }

  public AccessLog(AccessLogFormat format, Consumer<String> out) {
    this(List.of(new AccessLogger(format::format, out)), null);
  }

  private AccessLog(List<AccessLogger> loggers, Scope scope) {
    this.loggers = loggers;
    this.scope = scope;
  }

  /** Standard output, as the default log writes it: Envoy's {@code StdoutAccessLog}. */
  public static Consumer<String> stdout() {
    return AccessLogSink.stdout();
  }

  /** This log for one connection: its entries get the scope's chain and server name, and go to its observer. */
  public AccessLog scoped(Scope s) {
    return new AccessLog(loggers, s);
  }

  /**
   * This log written by the {@code access_log} loggers of a filter or listener instead, when it has any;
   * without, the default line (Istio's format on standard output) stays.
   */
  public AccessLog to(List<AccessLogger> configured) {
    return configured.isEmpty() ? this : new AccessLog(configured, scope);
  }

  public void log(Entry entry) {
    Entry e = entry;
    if (scope != null) {
      e = entry.in(scope);
      scope.observer().accept(e);
    }
    for (AccessLogger logger : loggers) {
      logger.log(e);
    }
  }

  /** The line for {@code e} in the default format, without the trailing newline. */
  public static String format(Entry e) {
    return AccessLogFormat.ISTIO_DEFAULT.format(e);
  }
}
