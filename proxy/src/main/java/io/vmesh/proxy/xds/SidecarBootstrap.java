package io.vmesh.proxy.xds;

import io.vmesh.proxy.config.SupportedFields;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.netty.util.NetUtil;
import io.vmesh.proxy.config.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The bootstrap of an injected sidecar, from the environment the injector gives it: the built-in
 * default (passthrough until the first config arrives) plus ADS to {@code VMESH_XDS_ADDRESS}, with a
 * {@code node.id} in Istio's shape, which the operator parses to find the pod.
 */
public final class SidecarBootstrap {

  public static final String XDS_ADDRESS = "VMESH_XDS_ADDRESS";
  /** PEM file of the operator's CA: when set, the stream is TLS (the operator's :15012). */
  public static final String XDS_CA_FILE = "VMESH_XDS_CA_FILE";
  public static final String CLUSTER_NAME = "xds-grpc";

  private SidecarBootstrap() {
  }

  /** Empty when {@code VMESH_XDS_ADDRESS} is not set (then the built-in default runs as it is). */
  public static Optional<Bootstrap> fromEnvironment(Bootstrap defaults, Map<String, String> env) throws ConfigException {
    String address = env.get(XDS_ADDRESS);
    if (address == null || address.isBlank()) {
      return Optional.empty();
    }
    List<String> problems = new ArrayList<>();
    String ip = required(env, "INSTANCE_IP", problems);
    String pod = required(env, "POD_NAME", problems);
    String namespace = required(env, "POD_NAMESPACE", problems);
    int colon = address.lastIndexOf(':');
    String host = colon <= 0 ? "" : address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port = -1;
    try {
      port = colon <= 0 ? -1 : Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      // reported below
    }
    if (host.isEmpty() || port < 1 || port > 65535) {
      problems.add("env " + XDS_ADDRESS + ": '" + address + "' is not host:port");
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    boolean ipLiteral = NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host);
    Cluster.Builder xds = Cluster.newBuilder()
        .setName(CLUSTER_NAME)
        .setType(ipLiteral ? Cluster.DiscoveryType.STATIC : Cluster.DiscoveryType.STRICT_DNS)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
        .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(CLUSTER_NAME)
            .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(
                Endpoint.newBuilder().setAddress(Address.newBuilder().setSocketAddress(
                    SocketAddress.newBuilder().setAddress(host).setPortValue(port)))))));
    String ca = env.get(XDS_CA_FILE);
    if (ca != null && !ca.isBlank()) {
      xds.setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(SupportedFields.pack(
          UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(
              CertificateValidationContext.newBuilder().setTrustedCa(DataSource.newBuilder().setFilename(ca)))).build())));
    }
    ConfigSource ads = ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();
    Struct.Builder metadata = Struct.newBuilder()
        .putFields("NAME", string(pod)).putFields("NAMESPACE", string(namespace)).putFields("INSTANCE_IPS", string(ip));
    Optional.ofNullable(env.get("SERVICE_ACCOUNT")).filter(s -> !s.isBlank())
        .ifPresent(sa -> metadata.putFields("SERVICE_ACCOUNT", string(sa)));
    // Only admin and the xDS cluster stay static: the operator sends virtualOutbound, virtualInbound and the
    // passthrough clusters itself, and a dynamic resource may not reuse a static one's name (Envoy refuses it too).
    // The proxy is not ready until that first config arrives, and the injected pod's application waits for it.
    Bootstrap.Builder b = defaults.toBuilder()
        .clearStaticResources()
        .setNode(Node.newBuilder().setId(nodeId(ip, pod, namespace)).setCluster(namespace).setMetadata(metadata))
        .setDynamicResources(Bootstrap.DynamicResources.newBuilder()
            .setAdsConfig(ApiConfigSource.newBuilder().setApiType(ApiConfigSource.ApiType.GRPC)
                .addGrpcServices(GrpcService.newBuilder().setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName(CLUSTER_NAME))))
            .setLdsConfig(ads)
            .setCdsConfig(ads));
    b.getStaticResourcesBuilder().addClusters(xds);
    return Optional.of(b.build());
  }

  /** Istio's sidecar node id, which the operator parses back to the pod: {@code sidecar~IP~POD.NS~NS.svc.cluster.local}. */
  public static String nodeId(String ip, String pod, String namespace) {
    return "sidecar~" + ip + "~" + pod + "." + namespace + "~" + namespace + ".svc.cluster.local";
  }

  private static String required(Map<String, String> env, String name, List<String> problems) {
    String value = env.get(name);
    if (value == null || value.isBlank()) {
      problems.add("env " + name + " is required with " + XDS_ADDRESS + " (the injector sets it from the downward API)");
      return "";
    }
    return value;
  }

  private static Value string(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }
}
