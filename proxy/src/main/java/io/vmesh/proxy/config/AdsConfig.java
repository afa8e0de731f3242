package io.vmesh.proxy.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where the xDS client connects: {@code dynamic_resources.ads_config}, resolved to the endpoints of the
 * cluster it names, with TLS when that cluster has an {@code UpstreamTlsContext}.
 *
 * @param endpoints host (an IP or a DNS name, resolved at each connect) and port, tried in turn
 * @param trustedCaFile PEM file of the CA that signs the server's certificate (verified against the
 *                      endpoint's host); empty for plaintext
 */
public record AdsConfig(String clusterName, List<Endpoint> endpoints, Optional<String> trustedCaFile, int connectTimeoutMillis) {

  /**
   * Where Kubernetes mounts the projected ServiceAccount token the injector asks for, which the xDS client
   * sends. Here rather than in {@code XdsClient}, whose static part (gRPC, logging) {@code run}'s option
   * default would otherwise load before the sidecar has parsed its command line.
   */
  public static final Path DEFAULT_TOKEN_FILE = Path.of("/var/run/secrets/tokens/vmesh-token");

  public record Endpoint(String host, int port) {
    @Override
    public String toString() {
      return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
  }

  public AdsConfig {
    endpoints = List.copyOf(endpoints);
  }

  public boolean tls() {
    return trustedCaFile.isPresent();
  }
}
