package io.vmesh.proxy.config;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import io.envoyproxy.envoy.admin.v3.BootstrapConfigDump;
import io.envoyproxy.envoy.admin.v3.ClustersConfigDump;
import io.envoyproxy.envoy.admin.v3.EndpointsConfigDump;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.admin.v3.RoutesConfigDump;
import io.envoyproxy.envoy.config.bootstrap.v3.Admin;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.BindConfig;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The subset of Envoy's API that vmesh-proxy implements, as an allow-list of fields per message, and
 * the check that refuses a message setting anything outside it. The same check serves bootstrap
 * files and (later) xDS resources, whose NACK then names the field; {@code docs/proxy-config.md}
 * lists exactly this table (a test keeps them equal).
 */
public final class SupportedFields {

  private static final String ANY = "google.protobuf.Any";

  /** Messages whose content is taken whole, without looking inside (free-form or well-known types). */
  private static final Set<String> OPAQUE = Set.of("google.protobuf.Struct", "google.protobuf.Duration",
      "google.protobuf.UInt32Value", "google.protobuf.BoolValue");

  /**
   * The {@code typed_config} types vmesh-proxy understands, by type URL. The URLs are written out (a test
   * checks them against the descriptors) so that unpacking a config needs no descriptor: building Envoy's
   * descriptors costs a sidecar hundreds of classes and megabytes that the built-in config does not need.
   */
  private static final Map<String, Message> TYPED_CONFIGS = typedConfigs(
      "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", TcpProxy.getDefaultInstance(),
      "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
      HttpConnectionManager.getDefaultInstance(),
      "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", Router.getDefaultInstance(),
      "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst", OriginalDst.getDefaultInstance(),
      "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector", TlsInspector.getDefaultInstance(),
      "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector", HttpInspector.getDefaultInstance(),
      "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", HttpProtocolOptions.getDefaultInstance(),
      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", UpstreamTlsContext.getDefaultInstance(),
      "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog", StdoutAccessLog.getDefaultInstance(),
      "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", FileAccessLog.getDefaultInstance());

  private SupportedFields() {
  }

  private static Map<String, List<String>> fields() {
    Map<String, List<String>> m = new LinkedHashMap<>();
    put(m, Bootstrap.getDescriptor(), "node", "admin", "static_resources", "dynamic_resources");
    put(m, Node.getDescriptor(), "id", "cluster", "metadata");
    put(m, Admin.getDescriptor(), "address");
    put(m, Bootstrap.StaticResources.getDescriptor(), "listeners", "clusters");
    put(m, Bootstrap.DynamicResources.getDescriptor(), "ads_config", "lds_config", "cds_config");
    put(m, ApiConfigSource.getDescriptor(), "api_type", "transport_api_version", "grpc_services");
    put(m, GrpcService.getDescriptor(), "envoy_grpc");
    put(m, GrpcService.EnvoyGrpc.getDescriptor(), "cluster_name");
    put(m, ConfigSource.getDescriptor(), "ads", "resource_api_version");
    put(m, AggregatedConfigSource.getDescriptor());
    put(m, Listener.getDescriptor(), "name", "address", "filter_chains", "default_filter_chain", "use_original_dst",
        "bind_to_port", "listener_filters", "listener_filters_timeout", "continue_on_listener_filters_timeout",
        "traffic_direction", "access_log", "additional_addresses");
    put(m, io.envoyproxy.envoy.config.listener.v3.AdditionalAddress.getDescriptor(), "address");
    put(m, ListenerFilter.getDescriptor(), "name", "typed_config");
    put(m, OriginalDst.getDescriptor());
    put(m, TlsInspector.getDescriptor());
    put(m, HttpInspector.getDescriptor());
    put(m, FilterChain.getDescriptor(), "name", "filter_chain_match", "filters");
    put(m, FilterChainMatch.getDescriptor(), "destination_port", "prefix_ranges", "server_names", "transport_protocol",
        "application_protocols", "direct_source_prefix_ranges", "source_type", "source_prefix_ranges", "source_ports");
    put(m, CidrRange.getDescriptor(), "address_prefix", "prefix_len");
    put(m, Filter.getDescriptor(), "name", "typed_config");
    put(m, TcpProxy.getDescriptor(), "stat_prefix", "cluster", "weighted_clusters", "idle_timeout", "access_log");
    put(m, TcpProxy.WeightedCluster.getDescriptor(), "clusters");
    put(m, TcpProxy.WeightedCluster.ClusterWeight.getDescriptor(), "name", "weight");
    put(m, HttpConnectionManager.getDescriptor(), "stat_prefix", "codec_type", "route_config", "rds", "http_filters",
        "http2_protocol_options", "stream_idle_timeout", "request_timeout", "common_http_protocol_options", "drain_timeout", "access_log",
        "upgrade_configs");
    // no filters: an upgrade runs the connection manager's own (the router)
    put(m, HttpConnectionManager.UpgradeConfig.getDescriptor(), "upgrade_type", "enabled");
    // downstream (a connection manager's) and upstream (a cluster's) alike; what one side does not take is refused by its builder
    put(m, io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions.getDescriptor(), "idle_timeout", "max_connection_duration",
        "max_requests_per_connection");
    put(m, Rds.getDescriptor(), "config_source", "route_config_name");
    put(m, AccessLog.getDescriptor(), "name", "typed_config");
    put(m, StdoutAccessLog.getDescriptor(), "log_format");
    put(m, FileAccessLog.getDescriptor(), "path", "log_format");
    put(m, SubstitutionFormatString.getDescriptor(), "text_format_source", "json_format");
    put(m, Http2ProtocolOptions.getDescriptor(), "max_concurrent_streams", "initial_stream_window_size",
        "initial_connection_window_size");
    put(m, Http1ProtocolOptions.getDescriptor());
    put(m, HttpFilter.getDescriptor(), "name", "typed_config");
    put(m, Router.getDescriptor());
    put(m, RouteConfiguration.getDescriptor(), "name", "virtual_hosts");
    put(m, VirtualHost.getDescriptor(), "name", "domains", "routes");
    put(m, Route.getDescriptor(), "name", "match", "route");
    put(m, RouteMatch.getDescriptor(), "prefix", "path", "safe_regex", "headers");
    put(m, RegexMatcher.getDescriptor(), "regex");
    put(m, HeaderMatcher.getDescriptor(), "name", "present_match", "string_match");
    put(m, StringMatcher.getDescriptor(), "exact", "prefix");
    put(m, RouteAction.getDescriptor(), "cluster", "weighted_clusters", "timeout", "retry_policy", "upgrade_configs");
    put(m, RouteAction.UpgradeConfig.getDescriptor(), "upgrade_type", "enabled");
    put(m, WeightedCluster.getDescriptor(), "clusters");
    put(m, WeightedCluster.ClusterWeight.getDescriptor(), "name", "weight");
    put(m, RetryPolicy.getDescriptor(), "retry_on", "num_retries");
    put(m, Cluster.getDescriptor(), "name", "type", "lb_policy", "connect_timeout", "load_assignment",
        "upstream_bind_config", "outlier_detection", "typed_extension_protocol_options", "eds_cluster_config", "transport_socket");
    put(m, OutlierDetection.getDescriptor(), "consecutive_5xx", "consecutive_gateway_failure", "enforcing_consecutive_5xx",
        "enforcing_consecutive_gateway_failure", "interval", "base_ejection_time", "max_ejection_percent", "max_ejection_time");
    // a proto map is a repeated entry message of its own
    put(m, Cluster.getDescriptor().findFieldByName("typed_extension_protocol_options").getMessageType(), "key", "value");
    put(m, HttpProtocolOptions.getDescriptor(), "explicit_http_config", "use_downstream_protocol_config", "common_http_protocol_options");
    put(m, HttpProtocolOptions.ExplicitHttpConfig.getDescriptor(), "http_protocol_options", "http2_protocol_options");
    put(m, HttpProtocolOptions.UseDownstreamHttpConfig.getDescriptor(), "http_protocol_options", "http2_protocol_options");
    put(m, Cluster.EdsClusterConfig.getDescriptor(), "eds_config", "service_name");
    put(m, TransportSocket.getDescriptor(), "name", "typed_config");
    put(m, UpstreamTlsContext.getDescriptor(), "common_tls_context");
    put(m, CommonTlsContext.getDescriptor(), "validation_context");
    put(m, CertificateValidationContext.getDescriptor(), "trusted_ca");
    put(m, DataSource.getDescriptor(), "filename", "inline_string");
    put(m, BindConfig.getDescriptor(), "source_address", "extra_source_addresses");
    put(m, io.envoyproxy.envoy.config.core.v3.ExtraSourceAddress.getDescriptor(), "address");
    put(m, ClusterLoadAssignment.getDescriptor(), "cluster_name", "endpoints");
    put(m, LocalityLbEndpoints.getDescriptor(), "lb_endpoints");
    put(m, LbEndpoint.getDescriptor(), "endpoint");
    put(m, Endpoint.getDescriptor(), "address");
    put(m, Address.getDescriptor(), "socket_address");
    put(m, SocketAddress.getDescriptor(), "address", "port_value", "protocol");
    return Collections.unmodifiableMap(m);
  }

  private static void put(Map<String, List<String>> m, Descriptor d, String... names) {
    for (String name : names) {
      if (d.findFieldByName(name) == null) {
        throw new IllegalStateException(d.getFullName() + " has no field " + name);
      }
    }
    m.put(d.getFullName(), List.of(names));
  }

  /** Pairs of type URL and default instance. */
  private static Map<String, Message> typedConfigs(Object... urlsAndDefaults) {
    Map<String, Message> m = new LinkedHashMap<>();
    for (int i = 0; i < urlsAndDefaults.length; i += 2) {
      m.put((String) urlsAndDefaults[i], (Message) urlsAndDefaults[i + 1]);
    }
    return Collections.unmodifiableMap(m);
  }

  /** Every supported message (full name) with its supported fields, in the documented order. */
  public static Map<String, List<String>> table() {
    return Table.FIELDS;
  }

  /** Built on first check: it needs the descriptors of every message in it. */
  private static final class Table {
    static final Map<String, List<String>> FIELDS = fields();
  }

  /** The types a {@code typed_config} may carry, for parsing and printing JSON. */
  public static TypeRegistry typeRegistry() {
    return Registry.INSTANCE;
  }

  /** Built on first use, after the tables above. */
  private static final class Registry {
    static final TypeRegistry INSTANCE = build();
  }

  private static TypeRegistry build() {
    TypeRegistry.Builder b = TypeRegistry.newBuilder();
    TYPED_CONFIGS.values().forEach(m -> b.add(descriptor(m)));
    // what /config_dump packs into Any
    b.add(List.of(Listener.getDescriptor(), Cluster.getDescriptor(), BootstrapConfigDump.getDescriptor(),
        ListenersConfigDump.getDescriptor(), ClustersConfigDump.getDescriptor(), RoutesConfigDump.getDescriptor(),
        EndpointsConfigDump.getDescriptor(), RouteConfiguration.getDescriptor(), ClusterLoadAssignment.getDescriptor()));
    return b.build();
  }

  /** The message a supported {@code typed_config} carries, or empty when vmesh-proxy does not know its type. */
  public static Optional<Message> unpack(Any any) throws InvalidProtocolBufferException {
    Message type = TYPED_CONFIGS.get(any.getTypeUrl());
    return type == null ? Optional.empty() : Optional.of(type.getParserForType().parseFrom(any.getValue()));
  }

  /** {@code Any.pack} for a supported {@code typed_config} type, without building its descriptor. */
  public static Any pack(Message config) {
    for (Map.Entry<String, Message> e : TYPED_CONFIGS.entrySet()) {
      if (e.getValue().getClass() == config.getClass()) {
        return Any.newBuilder().setTypeUrl(e.getKey()).setValue(config.toByteString()).build();
      }
    }
    throw new IllegalArgumentException(config.getClass().getName() + " is not a supported typed_config");
  }

  /** The type URLs a {@code typed_config} may carry. */
  public static Set<String> typedConfigTypes() {
    return TYPED_CONFIGS.keySet();
  }

  /** The message type of a supported {@code typed_config}, or empty. */
  public static Optional<Descriptor> typedConfigType(String typeUrl) {
    return Optional.ofNullable(TYPED_CONFIGS.get(typeUrl)).map(SupportedFields::descriptor);
  }

  /**
   * A message's type, from the generated class's static {@code getDescriptor()} when it has one: on a generated
   * message {@code getDescriptorForType()} first builds the class's reflective accessor table (every getter and
   * setter looked up, a {@code Method} each, kept on the heap for good: ~6 000 of them, ~1 MiB, for a bootstrap
   * file), which nothing here reads.
   */
  public static Descriptor descriptor(Message message) {
    Descriptor d = message instanceof DynamicMessage ? null : STATIC_DESCRIPTORS.get(message.getClass());
    return d != null ? d : message.getDescriptorForType();
  }

  private static final ClassValue<Descriptor> STATIC_DESCRIPTORS = new ClassValue<>() {
    @Override
    protected Descriptor computeValue(Class<?> type) {
      try {
        // a method handle, not Class.getMethod, which would make a Method of every public method of the class
        return (Descriptor) MethodHandles.publicLookup()
            .findStatic(type, "getDescriptor", MethodType.methodType(Descriptor.class)).invokeExact();
      } catch (Throwable e) {
        return null;
      }
    }
  };

  /**
   * Refuses {@code message} when it sets any field outside the table, naming each such field by its path.
   * The walk reads a {@link DynamicMessage} copy: a generated message's {@code getAllFields()} builds its
   * reflective accessor table, which loads every message class its fields name and keeps thousands of
   * {@code Method}s on the heap; the copy needs only the descriptors.
   */
  public static void check(Message message, String path) throws ConfigException {
    List<String> problems = new ArrayList<>();
    walk(message instanceof DynamicMessage ? message : dynamic(descriptor(message), message.toByteString()), path, problems);
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
  }

  private static DynamicMessage dynamic(Descriptor type, ByteString bytes) {
    try {
      return DynamicMessage.parseFrom(type, bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a serialized " + type.getFullName() + " does not parse back", e);
    }
  }

  private static void walk(Message message, String path, List<String> problems) {
    Descriptor type = message.getDescriptorForType();
    if (OPAQUE.contains(type.getFullName())) {
      return;
    }
    if (!message.getUnknownFields().asMap().isEmpty()) {
      problems.add(ConfigException.at(path, "fields " + message.getUnknownFields().asMap().keySet()
          + " are unknown to " + type.getFullName()));
    }
    if (type.getFullName().equals(ANY)) {
      walkAny(message, path, problems);
      return;
    }
    List<String> allowed = Table.FIELDS.get(type.getFullName());
    for (Map.Entry<FieldDescriptor, Object> e : message.getAllFields().entrySet()) {
      FieldDescriptor field = e.getKey();
      String fieldPath = path.isEmpty() ? field.getName() : path + "." + field.getName();
      if (allowed == null || !allowed.contains(field.getName())) {
        problems.add(ConfigException.at(fieldPath, "field not supported by vmesh-proxy (" + type.getFullName()
            + " supports " + (allowed == null || allowed.isEmpty() ? "no fields" : String.join(", ", allowed))
            + "; see docs/proxy-config.md)"));
        continue;
      }
      if (field.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
        continue;
      }
      if (field.isRepeated()) {
        List<?> items = (List<?>) e.getValue();
        for (int i = 0; i < items.size(); i++) {
          walk((Message) items.get(i), fieldPath + "[" + i + "]", problems);
        }
      } else {
        walk((Message) e.getValue(), fieldPath, problems);
      }
    }
  }

  /** {@code any}: a google.protobuf.Any as a {@link DynamicMessage}. */
  private static void walkAny(Message any, String path, List<String> problems) {
    Descriptor type = any.getDescriptorForType();
    String url = (String) any.getField(type.findFieldByNumber(Any.TYPE_URL_FIELD_NUMBER));
    Message inner = TYPED_CONFIGS.get(url);
    if (inner == null) {
      problems.add(ConfigException.at(path, "typed_config type " + url
          + " is not supported by vmesh-proxy (supported: " + String.join(", ", TYPED_CONFIGS.keySet()) + ")"));
      return;
    }
    ByteString value = (ByteString) any.getField(type.findFieldByNumber(Any.VALUE_FIELD_NUMBER));
    try {
      walk(DynamicMessage.parseFrom(descriptor(inner), value), path, problems);
    } catch (InvalidProtocolBufferException e) {
      problems.add(ConfigException.at(path, "cannot decode " + url + ": " + e.getMessage()));
    }
  }
}
