package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.MeshPolicySpec;
import io.vmesh.operator.api.OutboundTrafficPolicy;
import io.vmesh.operator.inject.InjectionStatus;
import io.vmesh.operator.xds.ClusterStateSnapshotSource;
import io.vmesh.operator.xds.ProxyId;
import io.vmesh.operator.xds.ProxySnapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The snapshot source on live informers against the embedded API server: a change reaches the snapshots after the
 * debounce, and only the proxies whose config it changes are named.
 */
class XdsSnapshotsIT {

  private static final Path REPO = Path.of(System.getProperty("vmesh.repo.dir", ".."));
  private static final Duration WITHIN = Duration.ofSeconds(30);
  private static final ProxyId WEB = new ProxyId("shop", "web");
  private static final ProxyId OTHER = new ProxyId("shop", "other");
  private static final ProxyId REMOTE = new ProxyId("remote", "remote");

  @TempDir
  Path dir;

  @Test
  void onlyTheProxiesAChangeAffectsAreNotified() throws Exception {
    String apiserverJar = System.getProperty("vmesh.apiserver.jar");
    assertThat(apiserverJar).as("system property vmesh.apiserver.jar (set by the failsafe configuration)").isNotBlank();
    try (JarProcess apiserver = JarProcess.start("apiserver", Path.of(apiserverJar), dir, Map.of(),
        "--port", "0", "--kubeconfig-out", dir.resolve("kubeconfig").toString())) {
      apiserver.await(Pattern.compile("vmesh-apiserver ready: "), WITHIN);
      try (KubernetesClient client = new KubernetesClientBuilder()
          .withConfig(Config.fromKubeconfig(Files.readString(dir.resolve("kubeconfig")))).build()) {
        for (String crd : List.of("meshpolicies.vmesh.io.yaml", "trafficcaptures.vmesh.io.yaml")) {
          client.resource(client.getKubernetesSerialization().unmarshal(Files.readString(REPO.resolve("crds").resolve(crd)),
              CustomResourceDefinition.class)).create();
        }
        client.resource(service("shop", "web", "10.96.0.10")).create();
        client.resource(injectedPod("shop", "web", "web", "10.0.0.1")).create();
        client.resource(injectedPod("shop", "other", "other", "10.0.0.2")).create();
        client.resource(injectedPod("remote", "remote", "remote", "10.0.1.1")).create();
        client.resource(policy("shop", "web", OutboundTrafficPolicy.ALLOW_ANY)).create();

        try (ClusterStateSnapshotSource source = new ClusterStateSnapshotSource(client, "vmesh-system")) {
          source.start();
          assertThat(source.snapshot(WEB)).isPresent();
          assertThat(source.snapshot(OTHER)).isPresent();
          assertThat(source.snapshot(REMOTE)).isPresent();
          assertThat(source.snapshot(new ProxyId("shop", "nobody"))).isEmpty();
          assertThat(catchAll(source.snapshot(WEB).orElseThrow())).isEqualTo("PassthroughCluster");
          BlockingQueue<Set<ProxyId>> notified = new LinkedBlockingQueue<>();
          source.onChange(notified::add);

          // the policy selects app=web: REGISTRY_ONLY reaches the web proxy alone
          client.resources(MeshPolicy.class).inNamespace("shop").withName("web").edit(p -> {
            p.getSpec().outboundTrafficPolicy = OutboundTrafficPolicy.REGISTRY_ONLY;
            return p;
          });
          assertThat(next(notified)).containsExactly(WEB);
          assertThat(catchAll(source.snapshot(WEB).orElseThrow())).isEqualTo("BlackHoleCluster");
          assertThat(catchAll(source.snapshot(OTHER).orElseThrow())).isEqualTo("PassthroughCluster");

          // a new Service is a new cluster for everyone
          client.resource(service("remote", "api", "10.96.0.20")).create();
          assertThat(next(notified)).containsExactlyInAnyOrder(WEB, OTHER, REMOTE);
          await(() -> source.snapshot(REMOTE).orElseThrow().clusters().stream()
              .anyMatch(c -> c.getName().equals("outbound|80||api.remote.svc.cluster.local")), "the new cluster");

          // a pod gone: its proxy is named once more, with no snapshot any longer
          client.pods().inNamespace("shop").withName("other").delete();
          assertThat(next(notified)).containsExactly(OTHER);
          assertThat(source.snapshot(OTHER)).isEmpty();

          // a change no proxy's config depends on names nobody
          client.pods().inNamespace("remote").withName("remote")
              .edit(p -> new PodBuilder(p).editMetadata().addToAnnotations("unrelated", "yes").endMetadata().build());
          assertThat(notified.poll(2, TimeUnit.SECONDS)).as("notification after an unrelated annotation").isNull();
        }
      } catch (Exception | AssertionError e) {
        throw new AssertionError(e.getMessage() + "\napiserver log:\n" + apiserver.log(), e);
      }
    }
  }

  /** The next notification; several batches in a row are merged (the debounce may split one change in two). */
  private static Set<ProxyId> next(BlockingQueue<Set<ProxyId>> notified) throws InterruptedException {
    Set<ProxyId> first = notified.poll(WITHIN.toSeconds(), TimeUnit.SECONDS);
    assertThat(first).as("a change notification within %s", WITHIN).isNotNull();
    Set<ProxyId> all = new HashSet<>(first);
    Set<ProxyId> more;
    while ((more = notified.poll(1, TimeUnit.SECONDS)) != null) {
      all.addAll(more);
    }
    return all;
  }

  private static void await(Supplier<Boolean> condition, String what) throws InterruptedException {
    Instant deadline = Instant.now().plus(WITHIN);
    while (!condition.get()) {
      assertThat(Instant.now()).as("waiting for %s", what).isBefore(deadline);
      Thread.sleep(50);
    }
  }

  private static String catchAll(ProxySnapshot snapshot) throws Exception {
    Listener outbound = snapshot.listeners().stream().filter(l -> l.getName().equals("virtualOutbound")).findFirst().orElseThrow();
    return outbound.getFilterChainsList().stream().filter(c -> c.getName().equals("virtualOutbound-catchall-tcp")).findFirst()
        .orElseThrow().getFilters(0).getTypedConfig().unpack(TcpProxy.class).getCluster();
  }

  private static HasMetadata service(String namespace, String name, String clusterIp) {
    return new ServiceBuilder().withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
        .withNewSpec().withClusterIP(clusterIp).addToSelector("app", name)
        .addNewPort().withName("http").withPort(80).endPort().endSpec().build();
  }

  private static Pod injectedPod(String namespace, String name, String app, String ip) {
    InjectionStatus status = new InjectionStatus("mesh", "0", List.of("vmesh-init"), List.of("vmesh-proxy"));
    return new PodBuilder().withNewMetadata().withNamespace(namespace).withName(name)
        .addToLabels("app", app).addToLabels(InjectionStatus.INJECTED_LABEL, "true")
        .addToAnnotations(InjectionStatus.ANNOTATION, status.toJson()).endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("app").addNewPort().withContainerPort(8080).endPort().endContainer()
        .endSpec()
        .withNewStatus().withPhase("Running").withPodIP(ip).endStatus().build();
  }

  private static MeshPolicy policy(String namespace, String app, OutboundTrafficPolicy outbound) {
    MeshPolicy policy = new MeshPolicy();
    policy.getMetadata().setNamespace(namespace);
    policy.getMetadata().setName(app);
    MeshPolicySpec spec = new MeshPolicySpec();
    spec.selector = new io.fabric8.kubernetes.api.model.LabelSelectorBuilder().addToMatchLabels("app", app).build();
    spec.outboundTrafficPolicy = outbound;
    policy.setSpec(spec);
    return policy;
  }
}
