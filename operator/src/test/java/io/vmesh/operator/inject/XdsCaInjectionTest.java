package io.vmesh.operator.inject;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.vmesh.operator.api.TrafficCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The proxy gets the CA of xDS over TLS from the namespace's ConfigMap, unless the operator is told xDS is plaintext. */
class XdsCaInjectionTest {

  private static final Namespace SHOP = new NamespaceBuilder().withNewMetadata().withName("shop")
      .withLabels(Map.of("vmesh.io/injection", "enabled")).endMetadata().build();

  private final Pod pod;
  private final TrafficCapture capture;

  XdsCaInjectionTest() throws Exception {
    List<HasMetadata> objects = Manifests.read(Files.readString(Path.of("src/test/resources/inject/in-plain-pod.yaml")), "in-plain-pod.yaml");
    pod = (Pod) objects.get(0);
    capture = (TrafficCapture) objects.get(1);
  }

  @Test
  void byDefaultTheProxyVerifiesPort15012AgainstTheMountedConfigMap() {
    InjectionSettings settings = InjectionSettings.of(InjectionSettings.DEFAULT_IMAGE, InjectionSettings.DEFAULT_XDS_ADDRESS, "1.30",
        InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);
    Pod injected = inject(pod, settings);
    Container proxy = proxy(injected);
    assertThat(env(proxy)).containsEntry("VMESH_XDS_ADDRESS", "vmesh-xds.vmesh-system.svc:15012")
        .containsEntry("VMESH_XDS_CA_FILE", "/var/run/secrets/vmesh/root-cert.pem");
    assertThat(proxy.getVolumeMounts()).extracting(VolumeMount::getName, VolumeMount::getMountPath, VolumeMount::getReadOnly)
        .contains(org.assertj.core.groups.Tuple.tuple("vmesh-ca-root-cert", "/var/run/secrets/vmesh", true));
    Volume ca = injected.getSpec().getVolumes().stream().filter(v -> v.getName().equals("vmesh-ca-root-cert")).findFirst().orElseThrow();
    assertThat(ca.getConfigMap().getName()).isEqualTo("vmesh-ca-root-cert");
    assertThat(ca.getConfigMap().getItems()).singleElement().satisfies(i -> {
      assertThat(i.getKey()).isEqualTo("root-cert.pem");
      assertThat(i.getPath()).isEqualTo("root-cert.pem");
    });
  }

  @Test
  void anEmptyConfigMapNameMeansPlaintextWithoutCaOrMount() {
    InjectionSettings settings = InjectionSettings.of(InjectionSettings.DEFAULT_IMAGE, "vmesh-xds.vmesh-system.svc:15010", "", "1.30",
        InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);
    Pod injected = inject(pod, settings);
    Container proxy = proxy(injected);
    assertThat(env(proxy)).containsEntry("VMESH_XDS_ADDRESS", "vmesh-xds.vmesh-system.svc:15010").doesNotContainKey("VMESH_XDS_CA_FILE");
    assertThat(proxy.getVolumeMounts()).extracting(VolumeMount::getName).containsExactly("vmesh-token");
    assertThat(injected.getSpec().getVolumes()).extracting(Volume::getName).containsExactly("vmesh-token");
  }

  @Test
  void injectingAgainKeepsOneCaVolumeAndTheUsersOwn() {
    InjectionSettings settings = InjectionSettings.of(InjectionSettings.DEFAULT_IMAGE, InjectionSettings.DEFAULT_XDS_ADDRESS, "1.30",
        InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);
    Pod withData = new PodBuilder(pod).editSpec().addNewVolume().withName("data").withNewEmptyDir().endEmptyDir().endVolume().endSpec().build();
    Pod twice = inject(inject(withData, settings), settings);
    assertThat(twice.getSpec().getVolumes()).extracting(Volume::getName).containsExactly("data", "vmesh-token", "vmesh-ca-root-cert");
    assertThat(proxy(twice).getVolumeMounts()).extracting(VolumeMount::getName).containsExactly("vmesh-token", "vmesh-ca-root-cert");
  }

  private Pod inject(Pod p, InjectionSettings settings) {
    InjectionDecision d = InjectionDecision.decide(p, SHOP, List.of(capture), settings);
    assertThat(d.injects()).as(d.message()).isTrue();
    return WorkloadInjection.apply(p, PodMutator.patch(p, d, settings));
  }

  private static Container proxy(Pod p) {
    return java.util.stream.Stream.concat(p.getSpec().getInitContainers().stream(), p.getSpec().getContainers().stream())
        .filter(c -> c.getName().equals("vmesh-proxy")).findFirst().orElseThrow();
  }

  private static Map<String, String> env(Container c) {
    Map<String, String> env = new java.util.LinkedHashMap<>();
    for (EnvVar e : c.getEnv()) {
      env.put(e.getName(), e.getValue());
    }
    return env;
  }
}
