package io.vmesh.operator.inject;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.vmesh.operator.api.CaptureMode;
import io.vmesh.operator.api.ProxySettings;
import io.vmesh.operator.api.TrafficCaptureSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The two containers injection adds, built from the TrafficCapture's spec and the operator's settings. */
public final class SidecarContainers {

  public static final String INIT_NAME = "vmesh-init";
  public static final String PROXY_NAME = "vmesh-proxy";
  public static final String READY_PATH = "/healthz/ready";
  /** Seconds the proxy keeps serving after termination starts, while endpoints drop the pod (Istio's drain default). */
  public static final long DRAIN_SECONDS = 5;
  /** The projected ServiceAccount token the proxy shows the xDS server, like Istio's istio-token. */
  public static final String TOKEN_VOLUME = "vmesh-token";
  public static final String TOKEN_DIR = "/var/run/secrets/tokens";
  public static final String TOKEN_AUDIENCE = "vmesh";
  public static final long TOKEN_EXPIRATION_SECONDS = 43200;
  /** The CA of xDS over TLS, from the ConfigMap the operator keeps in the namespace, like Istio's istiod-ca-cert. */
  public static final String CA_VOLUME = "vmesh-ca-root-cert";
  public static final String CA_DIR = "/var/run/secrets/vmesh";
  public static final String CA_KEY = "root-cert.pem";
  /** The proxy's variable naming the PEM file it verifies the xDS server against (its SidecarBootstrap reads it). */
  public static final String XDS_CA_FILE_ENV = "VMESH_XDS_CA_FILE";

  private SidecarContainers() {
  }

  /** vmesh-init: runs {@code vmesh-proxy capture} as root with NET_ADMIN and NET_RAW and nothing else, then exits. */
  public static Container init(CaptureArgs args, TrafficCaptureSpec spec, InjectionSettings settings) {
    List<String> argv = new ArrayList<>();
    argv.add("capture");
    argv.addAll(args.toArgs());
    return new ContainerBuilder()
        .withName(INIT_NAME)
        .withImage(image(spec, settings))
        .withArgs(argv)
        .withNewSecurityContext()
          .withRunAsUser(0L)
          .withRunAsGroup(0L)
          .withRunAsNonRoot(false)
          .withPrivileged(false)
          .withAllowPrivilegeEscalation(false)
          .withReadOnlyRootFilesystem(false)
          .withNewCapabilities().withAdd("NET_ADMIN", "NET_RAW").withDrop("ALL").endCapabilities()
        .endSecurityContext()
        .withResources(new ResourceRequirementsBuilder()
            .withRequests(sorted("cpu", "10m", "memory", "64Mi"))
            .withLimits(sorted("memory", "256Mi"))
            .build())
        .build();
  }

  /** vmesh-proxy; {@code nativeSidecar} makes it an init container that keeps running (restartPolicy Always). */
  public static Container proxy(TrafficCaptureSpec spec, InjectionSettings settings, boolean nativeSidecar) {
    ProxySettings p = spec == null || spec.proxy == null ? new ProxySettings() : spec.proxy;
    long uid = p.uid == null ? ProxyPorts.PROXY_UID : p.uid;
    boolean tproxy = spec != null && spec.mode == CaptureMode.TPROXY;
    ContainerBuilder b = new ContainerBuilder()
        .withName(PROXY_NAME)
        .withImage(image(spec, settings))
        .withArgs("run")
        .withEnv(env(p, settings))
        .addNewPort().withName("http-vmesh-prom").withContainerPort(ProxyPorts.PROMETHEUS).withProtocol("TCP").endPort()
        .addNewPort().withName("vmesh-health").withContainerPort(ProxyPorts.HEALTH).withProtocol("TCP").endPort()
        .withNewStartupProbe()
          .withNewHttpGet().withPath(READY_PATH).withPort(new IntOrString(ProxyPorts.HEALTH)).endHttpGet()
          .withPeriodSeconds(1).withTimeoutSeconds(3).withFailureThreshold(600)
        .endStartupProbe()
        .withNewReadinessProbe()
          .withNewHttpGet().withPath(READY_PATH).withPort(new IntOrString(ProxyPorts.HEALTH)).endHttpGet()
          .withPeriodSeconds(15).withTimeoutSeconds(3).withFailureThreshold(4)
        .endReadinessProbe()
        .withNewLifecycle()
          .withNewPreStop().withNewSleep(DRAIN_SECONDS).endPreStop()
        .endLifecycle()
        .withResources(resources(p.resources))
        .addNewVolumeMount().withName(TOKEN_VOLUME).withMountPath(TOKEN_DIR).withReadOnly(true).endVolumeMount()
        .withNewSecurityContext()
          // TPROXY: IP_TRANSPARENT needs CAP_NET_ADMIN in the effective set, which only uid 0 gets; the gid still breaks the loop
          .withRunAsUser(tproxy ? 0L : uid)
          .withRunAsGroup(uid)
          .withRunAsNonRoot(!tproxy)
          .withPrivileged(false)
          .withAllowPrivilegeEscalation(false)
          .withReadOnlyRootFilesystem(true)
          .withNewCapabilities().withAdd(tproxy ? List.of("NET_ADMIN") : List.of()).withDrop("ALL").endCapabilities()
        .endSecurityContext();
    if (settings.xdsTls()) {
      b.addNewVolumeMount().withName(CA_VOLUME).withMountPath(CA_DIR).withReadOnly(true).endVolumeMount();
    }
    if (nativeSidecar) {
      b.withRestartPolicy("Always");
    } else if (Boolean.TRUE.equals(p.holdApplicationUntilProxyStarts)) {
      // the kubelet starts the next container only when postStart returns: the application waits for a ready proxy
      b.editLifecycle().withNewPostStart().withNewExec().withCommand("vmesh-proxy", "wait", "--timeout=60").endExec().endPostStart().endLifecycle();
    }
    return b.build();
  }

  /** The token file {@code <TOKEN_DIR>/vmesh-token}: audience vmesh, bound to the pod, rotated by the kubelet. */
  public static Volume tokenVolume() {
    return new VolumeBuilder().withName(TOKEN_VOLUME)
        .withNewProjected().addNewSource().withNewServiceAccountToken()
          .withAudience(TOKEN_AUDIENCE).withExpirationSeconds(TOKEN_EXPIRATION_SECONDS).withPath(TOKEN_VOLUME)
        .endServiceAccountToken().endSource().endProjected()
        .build();
  }

  /** The CA ConfigMap as the file {@code <CA_DIR>/root-cert.pem}; the pod waits for it as for any ConfigMap volume. */
  public static Volume caVolume(InjectionSettings settings) {
    return new VolumeBuilder().withName(CA_VOLUME)
        .withNewConfigMap().withName(settings.xdsCaConfigMap()).addNewItem().withKey(CA_KEY).withPath(CA_KEY).endItem().endConfigMap()
        .build();
  }

  private static String image(TrafficCaptureSpec spec, InjectionSettings settings) {
    String image = spec == null || spec.proxy == null ? null : spec.proxy.image;
    return image == null || image.isBlank() ? settings.proxyImage() : image;
  }

  private static List<EnvVar> env(ProxySettings p, InjectionSettings settings) {
    List<EnvVar> env = new ArrayList<>(List.of(
        fieldRef("POD_NAME", "metadata.name"),
        fieldRef("POD_NAMESPACE", "metadata.namespace"),
        fieldRef("INSTANCE_IP", "status.podIP"),
        fieldRef("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        new EnvVarBuilder().withName("VMESH_XDS_ADDRESS").withValue(settings.xdsAddress()).build()));
    if (settings.xdsTls()) {
      env.add(new EnvVarBuilder().withName(XDS_CA_FILE_ENV).withValue(CA_DIR + "/" + CA_KEY).build());
    }
    env.add(new EnvVarBuilder().withName("VMESH_LOG_LEVEL").withValue(String.valueOf(p.logLevel == null ? "info" : p.logLevel)).build());
    return List.copyOf(env);
  }

  private static EnvVar fieldRef(String name, String path) {
    return new EnvVarBuilder().withName(name).withNewValueFrom().withNewFieldRef().withFieldPath(path).endFieldRef().endValueFrom().build();
  }

  /** Quantities in key order: Map.of iterates differently from run to run, and the output must be reproducible. */
  private static Map<String, Quantity> sorted(String... keysAndValues) {
    Map<String, Quantity> map = new TreeMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put(keysAndValues[i], new Quantity(keysAndValues[i + 1]));
    }
    return map;
  }

  private static ResourceRequirements resources(ResourceRequirements fromSpec) {
    if (fromSpec != null) {
      return fromSpec;
    }
    return new ResourceRequirementsBuilder()
        .withRequests(sorted("cpu", "100m", "memory", "128Mi"))
        .withLimits(sorted("memory", "512Mi"))
        .build();
  }
}
