package io.vmesh.operator.inject;

import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The operator-wide inputs of injection that are not in a TrafficCapture.
 *
 * @param proxyImage image of vmesh-init and vmesh-proxy when the TrafficCapture names none
 * @param xdsAddress host:port of the operator's xDS server, handed to the proxy
 * @param xdsCaConfigMap the ConfigMap (in the pod's namespace) holding the CA of xDS over TLS, mounted into the proxy;
 *     empty for a plaintext xDS address
 * @param clusterMajor the API server's major version
 * @param clusterMinor the API server's minor version (native sidecars need 1.29)
 * @param systemNamespaces namespaces never injected
 */
public record InjectionSettings(String proxyImage, String xdsAddress, String xdsCaConfigMap, int clusterMajor, int clusterMinor,
    Set<String> systemNamespaces) {

  public static final String DEFAULT_IMAGE = "ghcr.io/vmesh/vmesh-proxy:0.1.0";
  /** xDS over TLS, verified against the CA ConfigMap (Istio's istiod.istio-system.svc:15012). */
  public static final String DEFAULT_XDS_ADDRESS = "vmesh-xds.vmesh-system.svc:15012";
  /** Kept by the operator in every injection-enabled namespace (Istio's istio-ca-root-cert). */
  public static final String DEFAULT_XDS_CA_CONFIGMAP = "vmesh-ca-root-cert";
  public static final Set<String> DEFAULT_SYSTEM_NAMESPACES = Set.of("kube-system", "kube-public", "kube-node-lease", "vmesh-system");

  private static final Pattern VERSION = Pattern.compile("^v?(\\d+)\\.(\\d+)(\\D.*)?$");

  public InjectionSettings {
    Objects.requireNonNull(proxyImage, "proxyImage");
    Objects.requireNonNull(xdsAddress, "xdsAddress");
    Objects.requireNonNull(xdsCaConfigMap, "xdsCaConfigMap");
    systemNamespaces = Set.copyOf(systemNamespaces);
  }

  /** Settings for a cluster version written as Kubernetes prints it ({@code 1.29}, {@code v1.30.2}, {@code 1.28+}). */
  public static InjectionSettings of(String proxyImage, String xdsAddress, String clusterVersion, Set<String> systemNamespaces) {
    return of(proxyImage, xdsAddress, DEFAULT_XDS_CA_CONFIGMAP, clusterVersion, systemNamespaces);
  }

  /** As above, with the CA ConfigMap named (empty: none, for a plaintext xDS address). */
  public static InjectionSettings of(String proxyImage, String xdsAddress, String xdsCaConfigMap, String clusterVersion,
      Set<String> systemNamespaces) {
    Matcher m = VERSION.matcher(clusterVersion.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("cluster version '" + clusterVersion + "' is not MAJOR.MINOR (like 1.29 or v1.30.2)");
    }
    return new InjectionSettings(proxyImage, xdsAddress, xdsCaConfigMap, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), systemNamespaces);
  }

  /** Sidecar containers (restartPolicy Always in initContainers) are on by default from Kubernetes 1.29. */
  public boolean clusterHasNativeSidecars() {
    return clusterMajor > 1 || (clusterMajor == 1 && clusterMinor >= 29);
  }

  /** Whether the proxy verifies xDS over TLS against the mounted CA ConfigMap. */
  public boolean xdsTls() {
    return !xdsCaConfigMap.isBlank();
  }

  public String clusterVersion() {
    return clusterMajor + "." + clusterMinor;
  }
}
