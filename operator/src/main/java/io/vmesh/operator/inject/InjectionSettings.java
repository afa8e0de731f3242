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
 * @param clusterMajor the API server's major version
 * @param clusterMinor the API server's minor version (native sidecars need 1.29)
 * @param systemNamespaces namespaces never injected
 */
public record InjectionSettings(String proxyImage, String xdsAddress, int clusterMajor, int clusterMinor, Set<String> systemNamespaces) {

  public static final String DEFAULT_IMAGE = "ghcr.io/vmesh/vmesh-proxy:0.1.0";
  public static final String DEFAULT_XDS_ADDRESS = "vmesh-xds.vmesh-system.svc:15010";
  public static final Set<String> DEFAULT_SYSTEM_NAMESPACES = Set.of("kube-system", "kube-public", "kube-node-lease", "vmesh-system");

  private static final Pattern VERSION = Pattern.compile("^v?(\\d+)\\.(\\d+)(\\D.*)?$");

  public InjectionSettings {
    Objects.requireNonNull(proxyImage, "proxyImage");
    Objects.requireNonNull(xdsAddress, "xdsAddress");
    systemNamespaces = Set.copyOf(systemNamespaces);
  }

  /** Settings for a cluster version written as Kubernetes prints it ({@code 1.29}, {@code v1.30.2}, {@code 1.28+}). */
  public static InjectionSettings of(String proxyImage, String xdsAddress, String clusterVersion, Set<String> systemNamespaces) {
    Matcher m = VERSION.matcher(clusterVersion.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("cluster version '" + clusterVersion + "' is not MAJOR.MINOR (like 1.29 or v1.30.2)");
    }
    return new InjectionSettings(proxyImage, xdsAddress, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), systemNamespaces);
  }

  /** Sidecar containers (restartPolicy Always in initContainers) are on by default from Kubernetes 1.29. */
  public boolean clusterHasNativeSidecars() {
    return clusterMajor > 1 || (clusterMajor == 1 && clusterMinor >= 29);
  }

  public String clusterVersion() {
    return clusterMajor + "." + clusterMinor;
  }
}
