package io.vmesh.proxy.config;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.vmesh.proxy.http.Http2Options;
import io.vmesh.proxy.http.UpstreamProtocol;
import java.util.List;
import java.util.Map;

/** Reads HTTP/2 options and a cluster's upstream HTTP protocol, adding each problem, with its field path, to a shared list. */
final class HttpProtocolOptionsBuilder {

  /** The only key Envoy gives {@code HttpProtocolOptions} under in {@code typed_extension_protocol_options}. */
  static final String KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
  /** RFC 9113's smallest legal initial window, which Envoy also requires as a minimum. */
  private static final int MIN_WINDOW = 65_535;

  private HttpProtocolOptionsBuilder() {
  }

  /** Envoy's {@code Http2ProtocolOptions}: the stream limit at least 1, windows from 65 535 up. */
  static Http2Options http2(Http2ProtocolOptions o, String at, List<String> problems) {
    return new Http2Options(
        bounded(o.hasMaxConcurrentStreams(), o.getMaxConcurrentStreams(), 1, at + ".max_concurrent_streams", problems),
        bounded(o.hasInitialStreamWindowSize(), o.getInitialStreamWindowSize(), MIN_WINDOW, at + ".initial_stream_window_size", problems),
        bounded(o.hasInitialConnectionWindowSize(), o.getInitialConnectionWindowSize(), MIN_WINDOW,
            at + ".initial_connection_window_size", problems));
  }

  private static Integer bounded(boolean set, UInt32Value value, int min, String at, List<String> problems) {
    if (!set) {
      return null;
    }
    long v = Integer.toUnsignedLong(value.getValue());
    if (v < min || v > Integer.MAX_VALUE) {
      problems.add(ConfigException.at(at, "must be between " + min + " and " + Integer.MAX_VALUE + ", got " + v));
      return null;
    }
    return (int) v;
  }

  /** The protocol a cluster's HTTP requests use: HTTP/1.1 unless its {@code HttpProtocolOptions} say otherwise. */
  static UpstreamProtocol upstream(Cluster c, String at, List<String> problems) {
    UpstreamProtocol protocol = UpstreamProtocol.HTTP1;
    for (Map.Entry<String, Any> e : c.getTypedExtensionProtocolOptionsMap().entrySet()) {
      String eat = at + ".typed_extension_protocol_options[" + e.getKey() + "]";
      if (!e.getKey().equals(KEY)) {
        problems.add(ConfigException.at(eat, "only " + KEY + " is supported"));
        continue;
      }
      if (!e.getValue().is(HttpProtocolOptions.class)) {
        problems.add(ConfigException.at(eat, "must carry type.googleapis.com/" + KEY + ", got " + e.getValue().getTypeUrl()));
        continue;
      }
      HttpProtocolOptions options;
      try {
        options = e.getValue().unpack(HttpProtocolOptions.class);
      } catch (InvalidProtocolBufferException ex) {
        problems.add(ConfigException.at(eat, "cannot decode: " + ex.getMessage()));
        continue;
      }
      protocol = switch (options.getUpstreamProtocolOptionsCase()) {
        case EXPLICIT_HTTP_CONFIG -> {
          HttpProtocolOptions.ExplicitHttpConfig explicit = options.getExplicitHttpConfig();
          if (explicit.hasHttp2ProtocolOptions()) {
            yield new UpstreamProtocol(UpstreamProtocol.Kind.HTTP2,
                http2(explicit.getHttp2ProtocolOptions(), eat + ".explicit_http_config.http2_protocol_options", problems));
          }
          if (!explicit.hasHttpProtocolOptions()) {
            problems.add(ConfigException.at(eat + ".explicit_http_config", "needs http_protocol_options or http2_protocol_options"));
          }
          yield UpstreamProtocol.HTTP1;
        }
        case USE_DOWNSTREAM_PROTOCOL_CONFIG -> {
          HttpProtocolOptions.UseDownstreamHttpConfig downstream = options.getUseDownstreamProtocolConfig();
          // as in Envoy, HTTP/2 requests go upstream as HTTP/2 only when http2_protocol_options is given
          yield new UpstreamProtocol(downstream.hasHttp2ProtocolOptions() ? UpstreamProtocol.Kind.DOWNSTREAM : UpstreamProtocol.Kind.HTTP1,
              http2(downstream.getHttp2ProtocolOptions(), eat + ".use_downstream_protocol_config.http2_protocol_options", problems));
        }
        default -> {
          problems.add(ConfigException.at(eat, "needs explicit_http_config or use_downstream_protocol_config"));
          yield UpstreamProtocol.HTTP1;
        }
      };
      if (options.hasCommonHttpProtocolOptions()) {
        protocol = connections(protocol, options.getCommonHttpProtocolOptions(), eat + ".common_http_protocol_options", problems);
      }
    }
    return protocol;
  }

  /**
   * A cluster's {@code common_http_protocol_options}: {@code idle_timeout} (Envoy's default 1 h; 0s for none) and
   * {@code max_requests_per_connection} (0 or unset: no limit). {@code max_connection_duration}, which the core message
   * also has, is taken downstream only.
   */
  private static UpstreamProtocol connections(UpstreamProtocol protocol, io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions common,
                                              String at, List<String> problems) {
    if (common.hasMaxConnectionDuration()) {
      problems.add(ConfigException.at(at + ".max_connection_duration",
          "not supported for upstream connections (a connection manager's common_http_protocol_options takes it)"));
    }
    long idle = common.hasIdleTimeout() ? RuntimeConfigBuilder.timeoutMillis(common.getIdleTimeout(), at + ".idle_timeout", problems)
        : UpstreamProtocol.DEFAULT_IDLE_MILLIS;
    long max = common.hasMaxRequestsPerConnection() ? Integer.toUnsignedLong(common.getMaxRequestsPerConnection().getValue()) : 0;
    return protocol.withConnections(idle, (int) Math.min(Integer.MAX_VALUE, max));
  }
}
