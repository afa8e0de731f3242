package io.vmesh.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.UnknownFieldSet;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class SupportedFieldsTest {

  private static final Pattern ROW = Pattern.compile("^\\| `([a-zA-Z0-9_.]+)` \\| (.*) \\|$");

  @Test
  void theDocumentedTableIsTheEnforcedOne() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "proxy-config.md"));
    Map<String, List<String>> documented = new LinkedHashMap<>();
    for (String line : doc.lines().toList()) {
      Matcher m = ROW.matcher(line);
      if (m.matches() && !m.group(1).startsWith("type.googleapis.com/")) {
        String fields = m.group(2).equals("(no fields)") ? "" : m.group(2).replace("`", "");
        documented.put(m.group(1), fields.isEmpty() ? List.of() : Arrays.asList(fields.split(", ")));
      }
    }

    assertThat(documented).containsExactlyEntriesOf(SupportedFields.table());
    assertThat(SupportedFields.typedConfigTypes()).allSatisfy(type -> assertThat(doc).contains("| `" + type + "` |"));
  }

  @Test
  void aResourceIsCheckedTheSameWayWithoutABootstrapAroundIt() {
    // as an xDS Listener would arrive: the path starts at the resource
    Listener listener = Listener.newBuilder().setName("l")
        .addFilterChains(FilterChain.newBuilder()
            .setFilterChainMatch(FilterChainMatch.newBuilder().setAddressSuffix("::1"))
            .addFilters(Filter.newBuilder().setName("limit").setTypedConfig(Any.pack(ConnectionLimit.getDefaultInstance()))))
        .build();

    assertThatThrownBy(() -> SupportedFields.check(listener, "listener 'l'"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "listener 'l'.filter_chains[0].filter_chain_match.address_suffix: field not supported by vmesh-proxy "
                + "(envoy.config.listener.v3.FilterChainMatch supports destination_port, prefix_ranges, server_names, "
                + "transport_protocol, application_protocols, direct_source_prefix_ranges, source_type, "
                + "source_prefix_ranges, source_ports; see docs/proxy-config.md)",
            "listener 'l'.filter_chains[0].filters[0].typed_config: typed_config type type.googleapis.com/"
                + "envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit is not supported by "
                + "vmesh-proxy (supported: type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, "
                + "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager, "
                + "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router, "
                + "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst, "
                + "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector, "
                + "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector, "
                + "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions, "
                + "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext, "
                + "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, "
                + "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog)"));
  }

  @Test
  void unsupportedRdsAndRouteFieldsAreRefusedByPath() throws Exception {
    HttpConnectionManager rds = HttpConnectionManager.newBuilder().setStatPrefix("in")
        .setRds(Rds.newBuilder().setRouteConfigName("9080").setConfigSource(ConfigSource.newBuilder()
            .setAds(AggregatedConfigSource.getDefaultInstance()))).build();
    SupportedFields.check(rds, "hcm");
    HttpConnectionManager timed = rds.toBuilder().setRds(rds.getRds().toBuilder().setConfigSource(rds.getRds().getConfigSource()
        .toBuilder().setInitialFetchTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1)))).build();
    assertThatThrownBy(() -> SupportedFields.check(timed, "hcm"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "hcm.rds.config_source.initial_fetch_timeout: field not supported by vmesh-proxy "
                + "(envoy.config.core.v3.ConfigSource supports ads, resource_api_version; see docs/proxy-config.md)"));
    HttpConnectionManager inline = HttpConnectionManager.newBuilder().setStatPrefix("in")
        .setRouteConfig(RouteConfiguration.newBuilder().addVirtualHosts(VirtualHost.newBuilder().setName("v")
            .addDomains("*").setRequireTls(VirtualHost.TlsRequirementType.ALL))).build();
    assertThatThrownBy(() -> SupportedFields.check(inline, "hcm"))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "hcm.route_config.virtual_hosts[0].require_tls: field not supported by vmesh-proxy "
                + "(envoy.config.route.v3.VirtualHost supports name, domains, routes; see docs/proxy-config.md)"));
  }

  @Test
  void fieldsUnknownToTheProtosAndUndecodableConfigsAreRefused() {
    Cluster withUnknown = Cluster.newBuilder().setName("c")
        .setUnknownFields(UnknownFieldSet.newBuilder().addField(9999, UnknownFieldSet.Field.newBuilder().addVarint(1).build()).build())
        .build();
    Filter garbage = Filter.newBuilder().setName("t").setTypedConfig(Any.newBuilder()
        .setTypeUrl("type.googleapis.com/" + TcpProxy.getDescriptor().getFullName()).setValue(ByteString.copyFromUtf8("\u00ff\u00ff"))).build();

    assertThatThrownBy(() -> SupportedFields.check(withUnknown, "cluster 'c'")).hasMessage(
        "cluster 'c': fields [9999] are unknown to envoy.config.cluster.v3.Cluster");
    assertThatThrownBy(() -> SupportedFields.check(garbage, "f")).hasMessageStartingWith(
        "f.typed_config: cannot decode type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");
  }

  @Test
  void descriptorIsTheGeneratedTypesOwnOrTheDynamicMessages() throws Exception {
    for (String url : SupportedFields.typedConfigTypes()) {
      var type = SupportedFields.unpack(Any.newBuilder().setTypeUrl(url).build()).orElseThrow();
      assertThat(SupportedFields.descriptor(type)).isSameAs(type.getDescriptorForType());
      assertThat(SupportedFields.typedConfigType(url)).containsSame(type.getDescriptorForType());
    }
    assertThat(SupportedFields.descriptor(Cluster.getDefaultInstance())).isSameAs(Cluster.getDescriptor());
    var dynamic = DynamicMessage.getDefaultInstance(Listener.getDescriptor());
    assertThat(SupportedFields.descriptor(dynamic)).isSameAs(Listener.getDescriptor());
  }
}
