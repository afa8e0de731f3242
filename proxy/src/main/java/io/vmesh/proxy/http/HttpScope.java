package io.vmesh.proxy.http;

import io.netty.util.NetUtil;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vmesh.proxy.accesslog.AccessLog;
import io.vmesh.proxy.accesslog.AccessLog.Result;
import io.vmesh.proxy.stats.ProxyStats;
import java.time.Clock;
import java.time.Instant;

/**
 * What every exchange on one downstream connection shares: the filter's config, where the connection
 * came from, where its requests find their routes, the upstream clients of its event loop, stats and log, and whether it speaks HTTP/2.
 */
record HttpScope(Vertx vertx, ContextInternal context, HttpConnectionManagerConfig hcm, HttpConnectionManager.Downstream downstream,
                 RouteSource routes, UpstreamHttpClients upstreams, ProxyStats stats, AccessLog accessLog, Clock clock, boolean http2,
                 String peerAddress) {

  /** {@code peerAddress}: the client's address as text (x-forwarded-for), made once per connection rather than per request. */
  HttpScope(Vertx vertx, ContextInternal context, HttpConnectionManagerConfig hcm, HttpConnectionManager.Downstream downstream,
            RouteSource routes, UpstreamHttpClients upstreams, ProxyStats stats, AccessLog accessLog, Clock clock, boolean http2) {
    this(vertx, context, hcm, downstream, routes, upstreams, stats, accessLog, clock, http2,
        NetUtil.toAddressString(downstream.peer().getAddress()));
  }

  HttpScope withHttp2() {
    return new HttpScope(vertx, context, hcm, downstream, routes, upstreams, stats, accessLog, clock, true, peerAddress);
  }

  void log(Instant start, long startNanos, String method, String path, String cluster, long received, long sent,
           int status, String flags, Result result) {
    log(start, startNanos, cluster, received, sent, result, new AccessLog.Http(method, path, status, flags));
  }

  void log(Instant start, long startNanos, String cluster, long received, long sent, Result result, AccessLog.Http http) {
    accessLog.log(new AccessLog.Entry(start, downstream.listener(), downstream.peer(), downstream.destination(), cluster,
        received, sent, (System.nanoTime() - startNanos) / 1_000_000, result, http));
  }
}
