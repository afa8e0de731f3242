package io.vmesh.operator.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.http_inspector.v3.HttpInspector;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.util.List;

/** A snapshot as Envoy's JSON (what {@code /config_dump} and {@code istioctl proxy-config -o json} show), per type. */
public final class SnapshotJson {

  /** The types the generator packs into {@code typed_config}. */
  public static final TypeRegistry TYPES = TypeRegistry.newBuilder()
      .add(List.of(TcpProxy.getDescriptor(), HttpConnectionManager.getDescriptor(), Router.getDescriptor(),
          io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.getDescriptor(),
          OriginalDst.getDescriptor(), TlsInspector.getDescriptor(), HttpInspector.getDescriptor()))
      .build();
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().usingTypeRegistry(TYPES).preservingProtoFieldNames();

  private SnapshotJson() {
  }

  /** {@code {"clusters": [...], "endpoints": [...], "listeners": [...], "routes": [...]}}, two-space indented. */
  public static String print(ProxySnapshot snapshot) {
    StringBuilder out = new StringBuilder("{\n");
    section(out, "clusters", snapshot.clusters(), false);
    section(out, "endpoints", snapshot.endpoints(), false);
    section(out, "listeners", snapshot.listeners(), false);
    section(out, "routes", snapshot.routes(), true);
    return out.append("}\n").toString();
  }

  public static String print(Message resource) {
    try {
      return PRINTER.print(resource);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot print " + resource.getDescriptorForType().getFullName() + " as JSON", e);
    }
  }

  private static void section(StringBuilder out, String name, List<? extends Message> resources, boolean last) {
    out.append("  \"").append(name).append("\": [");
    for (int i = 0; i < resources.size(); i++) {
      out.append(i == 0 ? "\n" : ",\n").append(indent(print(resources.get(i))));
    }
    out.append(resources.isEmpty() ? "]" : "\n  ]").append(last ? "\n" : ",\n");
  }

  private static String indent(String json) {
    return json.lines().map(l -> "    " + l).reduce((a, b) -> a + "\n" + b).orElse("");
  }
}
