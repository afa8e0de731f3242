import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.vmesh.operator.api.HttpRoute;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.MeshPolicySpec;
import io.vmesh.operator.api.OutboundTrafficPolicy;
import io.vmesh.operator.api.RouteDestination;
import io.vmesh.operator.inject.InjectionStatus;
import io.vmesh.operator.xds.ClusterState;
import io.vmesh.operator.xds.MeshModel;
import io.vmesh.operator.xds.MeshModelBuilder;
import io.vmesh.operator.xds.ProxyId;
import io.vmesh.operator.xds.ProxySnapshot;
import io.vmesh.operator.xds.SnapshotComparison;
import io.vmesh.operator.xds.SnapshotGenerator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Config build time: cluster state → mesh model → every proxy's snapshot, and the comparison with the previous
 * snapshots that decides whom to notify — what ClusterStateSnapshotSource does after each debounced batch.
 *
 *   java -cp operator/target/vmesh-operator.jar bench/XdsBuildBench.java [services] [endpointsPerService] [proxies] [rounds]
 *
 * Defaults: 1 000 Services in 20 namespaces (70 % HTTP, 20 % TCP, 10 % sniffed), 10 endpoints each (10 000 pods),
 * 1 000 of those pods injected, one MeshPolicy per namespace with a weighted route and an allow rule; 20 rounds
 * after 5 warm-up rounds.
 */
public class XdsBuildBench {

  static final int NAMESPACES = 20;

  public static void main(String[] args) {
    int services = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int perService = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int proxies = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 20;
    ClusterState state = state(services, perService, proxies);
    System.out.printf("%d Services, %d endpoints, %d pods (%d injected), %d MeshPolicies%n", services, services * perService,
        state.pods().size(), proxies, state.policies().size());

    Map<ProxyId, ProxySnapshot> previous = SnapshotGenerator.generate(MeshModelBuilder.build(state));
    for (int i = 0; i < 5; i++) {
      previous = SnapshotGenerator.generate(MeshModelBuilder.build(state));
    }
    long[] model = new long[rounds];
    long[] generate = new long[rounds];
    long[] compare = new long[rounds];
    long[] total = new long[rounds];
    int resources = 0;
    for (int r = 0; r < rounds; r++) {
      long t0 = System.nanoTime();
      MeshModel mesh = MeshModelBuilder.build(state);
      long t1 = System.nanoTime();
      Map<ProxyId, ProxySnapshot> next = SnapshotGenerator.generate(mesh);
      long t2 = System.nanoTime();
      int changed = 0;
      SnapshotComparison comparison = new SnapshotComparison();
      for (Map.Entry<ProxyId, ProxySnapshot> e : next.entrySet()) {
        if (!comparison.same(previous.get(e.getKey()), e.getValue())) {
          changed++;
        }
      }
      long t3 = System.nanoTime();
      if (changed != 0) {
        throw new AssertionError(changed + " snapshots differ for the same state: generation is not deterministic");
      }
      model[r] = t1 - t0;
      generate[r] = t2 - t1;
      compare[r] = t3 - t2;
      total[r] = t3 - t0;
      previous = next;
      ProxySnapshot one = next.values().iterator().next();
      resources = one.clusters().size() + one.endpoints().size() + one.listeners().size() + one.routes().size();
    }
    System.out.printf("resources per proxy: %d%n", resources);
    System.out.printf("model    median %8.1f ms  max %8.1f ms%n", median(model), max(model));
    System.out.printf("generate median %8.1f ms  max %8.1f ms  (%.3f ms per proxy)%n", median(generate), max(generate),
        median(generate) / proxies);
    System.out.printf("compare  median %8.1f ms  max %8.1f ms%n", median(compare), max(compare));
    System.out.printf("total    median %8.1f ms  max %8.1f ms%n", median(total), max(total));
  }

  static ClusterState state(int services, int perService, int proxies) {
    List<Service> svcs = new ArrayList<>();
    List<EndpointSlice> slices = new ArrayList<>();
    List<Pod> pods = new ArrayList<>();
    List<MeshPolicy> policies = new ArrayList<>();
    String status = new InjectionStatus("mesh", "0", List.of("vmesh-init"), List.of("vmesh-proxy")).toJson();
    int podNumber = 0;
    int injected = 0;
    int every = Math.max(1, services * perService / Math.max(1, proxies));
    for (int s = 0; s < services; s++) {
      String ns = "ns" + (s % NAMESPACES);
      String name = "svc" + s;
      String portName = s % 10 < 7 ? "http" : s % 10 < 9 ? "tcp-data" : "metrics";
      int port = 8000 + (s % 50);
      svcs.add(new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata()
          .withNewSpec().withClusterIP("10.96." + (s / 250) + "." + (s % 250 + 1)).addToSelector("app", name)
          .addNewPort().withName(portName).withPort(port).withTargetPort(new IntOrString(8080)).endPort().endSpec().build());
      EndpointSliceBuilder slice = new EndpointSliceBuilder().withNewMetadata().withNamespace(ns).withName(name + "-1")
          .addToLabels("kubernetes.io/service-name", name).endMetadata()
          .withAddressType("IPv4").addNewPort().withName(portName).withPort(8080).withProtocol("TCP").endPort();
      for (int e = 0; e < perService; e++) {
        String ip = "10." + (1 + podNumber / 65536) + "." + (podNumber / 256 % 256) + "." + (podNumber % 256);
        slice.addNewEndpoint().withAddresses(ip).withNewConditions().withReady(true).endConditions().endEndpoint();
        PodBuilder pod = new PodBuilder().withNewMetadata().withNamespace(ns).withName(name + "-" + e)
            .addToLabels("app", name).endMetadata()
            .withNewSpec().withServiceAccountName(name).addNewContainer().withName("app").withImage("app")
            .addNewPort().withContainerPort(8080).endPort().endContainer().endSpec()
            .withNewStatus().withPhase("Running").withPodIP(ip).endStatus();
        if (podNumber % every == 0 && injected < proxies) {
          injected++;
          pod.editMetadata().addToLabels(InjectionStatus.INJECTED_LABEL, "true")
              .addToAnnotations(InjectionStatus.ANNOTATION, status).endMetadata();
        }
        pods.add(pod.build());
        podNumber++;
      }
      slices.add(slice.build());
    }
    for (int n = 0; n < NAMESPACES; n++) {
      MeshPolicy policy = new MeshPolicy();
      policy.getMetadata().setNamespace("ns" + n);
      policy.getMetadata().setName("policy");
      policy.getMetadata().setCreationTimestamp("2026-01-01T00:00:00Z");
      MeshPolicySpec spec = new MeshPolicySpec();
      spec.outboundTrafficPolicy = n % 2 == 0 ? OutboundTrafficPolicy.ALLOW_ANY : OutboundTrafficPolicy.REGISTRY_ONLY;
      HttpRoute route = new HttpRoute();
      route.name = "split";
      route.route = List.of(destination("svc" + n, 8000 + n % 50, 90), destination("svc" + (n + NAMESPACES), 8000 + (n + NAMESPACES) % 50, 10));
      spec.http = List.of(route);
      io.vmesh.operator.api.AllowRule allow = new io.vmesh.operator.api.AllowRule();
      allow.from = new io.vmesh.operator.api.TrafficSource();
      allow.from.namespaces = List.of("ns" + n, "ns" + ((n + 1) % NAMESPACES));
      allow.ports = List.of(8080);
      spec.inbound = new io.vmesh.operator.api.InboundPolicy();
      spec.inbound.allow = List.of(allow);
      policy.setSpec(spec);
      policies.add(policy);
    }
    return new ClusterState(svcs, slices, pods, List.of(), policies, "vmesh-system");
  }

  static RouteDestination destination(String service, int port, int weight) {
    RouteDestination d = new RouteDestination();
    d.service = service;
    d.port = port;
    d.weight = weight;
    return d;
  }

  static double median(long[] nanos) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2] / 1e6;
  }

  static double max(long[] nanos) {
    return Arrays.stream(nanos).max().orElse(0) / 1e6;
  }
}
