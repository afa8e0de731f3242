package io.vmesh.operator.xds;

import io.fabric8.kubernetes.api.model.ServicePort;
import io.vmesh.operator.api.Protocol;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A Service port's protocol, the way Istio reads it: its {@code appProtocol}, else its name ({@code http},
 * {@code http-web}, {@code grpc-api}, ...); empty when neither says, so the proxy sniffs.
 */
public final class PortProtocols {

  private static final Map<String, Protocol> NAMES = Map.of(
      "http", Protocol.HTTP, "http2", Protocol.HTTP2, "grpc", Protocol.GRPC, "tcp", Protocol.TCP, "tls", Protocol.TLS);
  /** Kubernetes' standard appProtocol values (KEP-3726) besides the plain names. */
  private static final Map<String, Protocol> APP_PROTOCOLS = Map.of(
      "kubernetes.io/h2c", Protocol.HTTP2, "https", Protocol.TLS);

  private PortProtocols() {
  }

  public static Optional<Protocol> of(ServicePort port) {
    return fromAppProtocol(port.getAppProtocol()).or(() -> fromName(port.getName()));
  }

  static Optional<Protocol> fromAppProtocol(String appProtocol) {
    if (appProtocol == null) {
      return Optional.empty();
    }
    String value = appProtocol.toLowerCase(Locale.ROOT);
    return Optional.ofNullable(NAMES.get(value)).or(() -> Optional.ofNullable(APP_PROTOCOLS.get(value)));
  }

  /** {@code http} or {@code http-anything}; the part before the first dash names the protocol. */
  static Optional<Protocol> fromName(String name) {
    if (name == null) {
      return Optional.empty();
    }
    int dash = name.indexOf('-');
    String prefix = (dash < 0 ? name : name.substring(0, dash)).toLowerCase(Locale.ROOT);
    return Optional.ofNullable(NAMES.get(prefix));
  }

  /** HTTP/1.1, HTTP/2 and gRPC go through the HTTP connection manager; TCP and TLS through tcp_proxy. */
  public static boolean isHttp(Protocol protocol) {
    return protocol == Protocol.HTTP || protocol == Protocol.HTTP2 || protocol == Protocol.GRPC;
  }
}
