package io.vmesh.operator.xds;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.vmesh.operator.api.AllowRule;
import io.vmesh.operator.api.HttpRoute;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.MeshPolicySpec;
import io.vmesh.operator.api.OutboundTrafficPolicy;
import io.vmesh.operator.api.PortProtocol;
import io.vmesh.operator.api.Protocol;
import io.vmesh.operator.api.RouteDestination;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.api.TrafficSource;
import io.vmesh.operator.inject.InjectionStatus;
import io.vmesh.operator.inject.ProxyPorts;
import io.vmesh.operator.policy.PolicyPrecedence;
import io.vmesh.operator.selection.LabelSelectorMatcher;
import io.vmesh.operator.selection.LivePods;
import io.vmesh.operator.validation.SpecValidator;
import io.vmesh.operator.xds.MeshModel.Cidr;
import io.vmesh.operator.xds.MeshModel.Destination;
import io.vmesh.operator.xds.MeshModel.EndpointAddress;
import io.vmesh.operator.xds.MeshModel.InboundAccess;
import io.vmesh.operator.xds.MeshModel.InboundPort;
import io.vmesh.operator.xds.MeshModel.ProxyModel;
import io.vmesh.operator.xds.MeshModel.RetryModel;
import io.vmesh.operator.xds.MeshModel.RouteModel;
import io.vmesh.operator.xds.MeshModel.ServiceModel;
import io.vmesh.operator.xds.MeshModel.ServicePortModel;
import io.vmesh.operator.xds.MeshModel.Sources;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Cluster state → mesh model: which pods run a proxy and what each of them needs to know. Pure. */
public final class MeshModelBuilder {

  /** The label EndpointSlices carry to name their Service. */
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
  /** What Istio retries on when a route sets attempts only; the proxy's names for "the request never got an answer". */
  static final String DEFAULT_RETRY_ON = "connect-failure,reset";

  private final ClusterState state;
  private final Map<String, ServiceModel> servicesByKey = new LinkedHashMap<>();
  private final Map<String, List<Service>> servicesByNamespace;
  private final Map<String, List<Pod>> livePodsByNamespace;
  private final Map<String, PolicyPrecedence> precedenceByNamespace = new HashMap<>();
  private final List<MeshPolicy> validPolicies;
  private final Map<String, InboundAccess> accessByPolicy = new HashMap<>();
  private final Map<String, List<RouteModel>> routesByPolicy = new HashMap<>();

  private MeshModelBuilder(ClusterState state) {
    this.state = state;
    this.servicesByNamespace = state.services().stream().collect(Collectors.groupingBy(s -> s.getMetadata().getNamespace()));
    this.livePodsByNamespace = state.pods().stream().filter(LivePods::isLive)
        .collect(Collectors.groupingBy(p -> p.getMetadata().getNamespace()));
    this.validPolicies = state.policies().stream()
        .filter(p -> p.getSpec() != null && SpecValidator.validate(p.getSpec()).isEmpty())
        .toList();
  }

  public static MeshModel build(ClusterState state) {
    return new MeshModelBuilder(state).build();
  }

  private MeshModel build() {
    Map<String, List<EndpointSlice>> slicesByService = state.endpointSlices().stream()
        .filter(s -> s.getMetadata().getLabels() != null && s.getMetadata().getLabels().get(SERVICE_NAME_LABEL) != null)
        .collect(Collectors.groupingBy(s -> s.getMetadata().getNamespace() + "/" + s.getMetadata().getLabels().get(SERVICE_NAME_LABEL)));
    state.services().stream()
        .sorted(Comparator.comparing((Service s) -> s.getMetadata().getNamespace()).thenComparing(s -> s.getMetadata().getName()))
        .map(s -> service(s, slicesByService.getOrDefault(key(s.getMetadata().getNamespace(), s.getMetadata().getName()), List.of())))
        .flatMap(Optional::stream)
        .forEach(s -> servicesByKey.put(key(s.namespace(), s.name()), s));
    Map<ProxyId, ProxyModel> proxies = new HashMap<>();
    for (List<Pod> pods : livePodsByNamespace.values()) {
      for (Pod pod : pods) {
        if (isInjected(pod)) {
          ProxyModel proxy = proxy(pod);
          proxies.put(proxy.id(), proxy);
        }
      }
    }
    return new MeshModel(List.copyOf(servicesByKey.values()), proxies);
  }

  /** A pod runs a proxy when the webhook recorded its injection (annotation) or labelled it so. */
  public static boolean isInjected(Pod pod) {
    Map<String, String> labels = pod.getMetadata().getLabels();
    return InjectionStatus.of(pod).isPresent()
        || (labels != null && "true".equals(labels.get(InjectionStatus.INJECTED_LABEL)));
  }

  // ---- services

  private static Optional<ServiceModel> service(Service service, List<EndpointSlice> slices) {
    if (service.getSpec() == null || "ExternalName".equals(service.getSpec().getType()) || service.getSpec().getPorts() == null) {
      return Optional.empty();
    }
    List<String> clusterIps = clusterIps(service);
    Optional<String> family = primaryFamily(service, clusterIps);
    List<ServicePortModel> ports = new ArrayList<>();
    for (ServicePort port : service.getSpec().getPorts()) {
      if (port.getPort() == null || !isTcp(port.getProtocol())) {
        continue;
      }
      ports.add(new ServicePortModel(port.getPort(), PortProtocols.of(port), readyEndpoints(port, slices, family)));
    }
    ports.sort(Comparator.comparingInt(ServicePortModel::port));
    return Optional.of(new ServiceModel(service.getMetadata().getName(), service.getMetadata().getNamespace(), clusterIps, ports));
  }

  /** {@code spec.clusterIPs} (primary first), else {@code spec.clusterIP}; none for a headless Service. */
  private static List<String> clusterIps(Service service) {
    List<String> ips = service.getSpec().getClusterIPs() == null || service.getSpec().getClusterIPs().isEmpty()
        ? Collections.singletonList(service.getSpec().getClusterIP()) : service.getSpec().getClusterIPs();
    return ips.stream().filter(ip -> ip != null && !ip.isBlank() && !"None".equals(ip)).toList();
  }

  /**
   * The family whose endpoints the Service's cluster gets: its primary cluster IP's, else its first {@code ipFamilies};
   * none (every address) for a headless Service that names no family. One address per pod, as Istio gives a
   * dual-stack endpoint: the proxy carries both families' VIPs to it.
   */
  private static Optional<String> primaryFamily(Service service, List<String> clusterIps) {
    if (!clusterIps.isEmpty()) {
      return Optional.of(clusterIps.get(0).contains(":") ? "IPv6" : "IPv4");
    }
    List<String> families = service.getSpec().getIpFamilies();
    return families == null || families.isEmpty() ? Optional.empty() : Optional.of(families.get(0));
  }

  /** Ready endpoints of the slices' port named like the Service port (Kubernetes pairs them by name), of {@code family} if given. */
  private static List<EndpointAddress> readyEndpoints(ServicePort port, List<EndpointSlice> slices, Optional<String> family) {
    String name = Objects.requireNonNullElse(port.getName(), "");
    Set<EndpointAddress> addresses = new TreeSet<>(Comparator.comparing(EndpointAddress::ip).thenComparingInt(EndpointAddress::port));
    for (EndpointSlice slice : slices) {
      if ("FQDN".equals(slice.getAddressType()) || slice.getPorts() == null || slice.getEndpoints() == null
          || (family.isPresent() && slice.getAddressType() != null && !family.get().equals(slice.getAddressType()))) {
        continue;
      }
      for (EndpointPort slicePort : slice.getPorts()) {
        if (!name.equals(Objects.requireNonNullElse(slicePort.getName(), "")) || slicePort.getPort() == null
            || !isTcp(slicePort.getProtocol())) {
          continue;
        }
        for (Endpoint endpoint : slice.getEndpoints()) {
          // Kubernetes: an unset ready condition is to be read as ready
          boolean ready = endpoint.getConditions() == null || !Boolean.FALSE.equals(endpoint.getConditions().getReady());
          if (ready && endpoint.getAddresses() != null) {
            endpoint.getAddresses().forEach(a -> addresses.add(new EndpointAddress(a, slicePort.getPort())));
          }
        }
      }
    }
    return List.copyOf(addresses);
  }

  private static boolean isTcp(String protocol) {
    return protocol == null || "TCP".equals(protocol);
  }

  // ---- proxies

  private ProxyModel proxy(Pod pod) {
    String namespace = pod.getMetadata().getNamespace();
    ProxyId id = new ProxyId(namespace, pod.getMetadata().getName());
    Optional<MeshPolicy> policy = precedence(namespace).effectiveFor(pod);
    MeshPolicySpec spec = policy.map(MeshPolicy::getSpec).orElseGet(MeshPolicySpec::new);
    OutboundTrafficPolicy outbound = Objects.requireNonNullElse(spec.outboundTrafficPolicy, OutboundTrafficPolicy.ALLOW_ANY);
    String policyKey = policy.map(p -> key(p.getMetadata().getNamespace(), p.getMetadata().getName())).orElse("");
    // routes and access are the same for every pod the policy governs: resolved once
    List<RouteModel> routes = routesByPolicy.computeIfAbsent(policyKey,
        k -> policy.map(p -> routes(p.getMetadata().getNamespace(), spec)).orElse(List.of()));
    InboundAccess access = accessByPolicy.computeIfAbsent(policyKey,
        k -> access(spec, policy.map(p -> p.getMetadata().getNamespace()).orElse(namespace)));
    return new ProxyModel(id, podIps(pod).stream().findFirst(), outbound, policyKey, routes, inboundPorts(pod, spec, access), access);
  }

  private PolicyPrecedence precedence(String namespace) {
    return precedenceByNamespace.computeIfAbsent(namespace, ns -> new PolicyPrecedence(
        validPolicies.stream()
            .filter(p -> ns.equals(p.getMetadata().getNamespace()) || state.operatorNamespace().equals(p.getMetadata().getNamespace()))
            .toList(),
        livePodsByNamespace.getOrDefault(ns, List.of()), state.operatorNamespace()));
  }

  private List<RouteModel> routes(String policyNamespace, MeshPolicySpec spec) {
    if (spec.http == null) {
      return List.of();
    }
    List<RouteModel> routes = new ArrayList<>();
    for (HttpRoute route : spec.http) {
      List<Destination> destinations = new ArrayList<>();
      for (RouteDestination d : Objects.requireNonNullElse(route.route, List.<RouteDestination>of())) {
        ServiceModel service = servicesByKey.get(key(policyNamespace, d.service));
        int weight = d.weight == null ? 1 : d.weight;
        // unresolved destinations are reported in the policy's ResolvedRefs condition; they receive nothing
        if (service != null && d.port != null && service.port(d.port).isPresent() && weight > 0) {
          destinations.add(new Destination(service, d.port, weight));
        }
      }
      if (destinations.isEmpty()) {
        continue;
      }
      List<String> hosts = route.match == null || route.match.hosts == null ? List.of() : route.match.hosts;
      Optional<String> prefix = route.match == null ? Optional.empty() : Optional.ofNullable(route.match.pathPrefix);
      Map<String, String> headers = route.match == null || route.match.headers == null ? Map.of() : new TreeMap<>(route.match.headers);
      Optional<RetryModel> retries = route.retries == null || route.retries.attempts == null ? Optional.empty()
          : Optional.of(new RetryModel(route.retries.attempts,
              route.retries.retryOn == null || route.retries.retryOn.isBlank() ? DEFAULT_RETRY_ON : route.retries.retryOn));
      routes.add(new RouteModel(route.name, hosts, prefix, headers, destinations,
          Optional.ofNullable(route.timeout).map(GoDuration::parse), retries));
    }
    return routes;
  }

  /**
   * The pod's inbound ports: its containers' ports (not the sidecar's), the target ports of the Services that
   * select it, the MeshPolicy's ports and the ports its allow rules name; restricted to what its TrafficCapture
   * captures (other ports never reach the proxy).
   */
  private List<InboundPort> inboundPorts(Pod pod, MeshPolicySpec spec, InboundAccess access) {
    Map<Integer, Optional<Protocol>> served = new TreeMap<>();
    Set<String> injected = new HashSet<>();
    InjectionStatus.of(pod).ifPresent(s -> {
      injected.addAll(Objects.requireNonNullElse(s.containers(), List.of()));
      injected.addAll(Objects.requireNonNullElse(s.initContainers(), List.of()));
    });
    for (Container container : containers(pod)) {
      if (injected.contains(container.getName()) || container.getPorts() == null) {
        continue;
      }
      for (ContainerPort port : container.getPorts()) {
        if (port.getContainerPort() != null && isTcp(port.getProtocol())) {
          served.putIfAbsent(port.getContainerPort(), Optional.empty());
        }
      }
    }
    // Services in name order: when two disagree on a port's protocol, the first one says
    List<Service> selecting = servicesByNamespace.getOrDefault(pod.getMetadata().getNamespace(), List.of()).stream()
        .filter(s -> s.getSpec() != null && s.getSpec().getSelector() != null && !s.getSpec().getSelector().isEmpty())
        .filter(s -> s.getSpec().getSelector().entrySet().stream()
            .allMatch(e -> pod.getMetadata().getLabels() != null && e.getValue().equals(pod.getMetadata().getLabels().get(e.getKey()))))
        .sorted(Comparator.comparing(s -> s.getMetadata().getName()))
        .toList();
    for (Service service : selecting) {
      for (ServicePort port : Objects.requireNonNullElse(service.getSpec().getPorts(), List.<ServicePort>of())) {
        if (!isTcp(port.getProtocol())) {
          continue;
        }
        targetPort(pod, port).ifPresent(target -> {
          Optional<Protocol> detected = PortProtocols.of(port);
          if (served.getOrDefault(target, Optional.empty()).isEmpty()) {
            served.put(target, detected);
          }
        });
      }
    }
    for (PortProtocol declared : Objects.requireNonNullElse(spec.ports, List.<PortProtocol>of())) {
      served.put(declared.port, Optional.of(declared.protocol));
    }
    Map<Integer, InboundPort> ports = new TreeMap<>();
    served.forEach((port, protocol) -> ports.put(port, new InboundPort(port, protocol, true)));
    access.perPort().keySet().forEach(port -> ports.putIfAbsent(port, new InboundPort(port, Optional.empty(), false)));
    Optional<TrafficCapture> capture = captureOf(pod);
    return ports.values().stream()
        .filter(p -> !ProxyPorts.ALL.contains(p.port()))
        .filter(p -> capture.map(c -> captures(c, p.port())).orElse(true))
        .toList();
  }

  private static List<Container> containers(Pod pod) {
    if (pod.getSpec() == null) {
      return List.of();
    }
    return Stream.concat(Objects.requireNonNullElse(pod.getSpec().getContainers(), List.<Container>of()).stream(),
        // native sidecars (restartPolicy Always) serve ports like containers
        Objects.requireNonNullElse(pod.getSpec().getInitContainers(), List.<Container>of()).stream()
            .filter(c -> "Always".equals(c.getRestartPolicy()))).toList();
  }

  private static Optional<Integer> targetPort(Pod pod, ServicePort port) {
    IntOrString target = port.getTargetPort();
    if (target == null) {
      return Optional.ofNullable(port.getPort());
    }
    if (target.getIntVal() != null) {
      return Optional.of(target.getIntVal());
    }
    String name = target.getStrVal();
    return containers(pod).stream()
        .flatMap(c -> Objects.requireNonNullElse(c.getPorts(), List.<ContainerPort>of()).stream())
        .filter(p -> name != null && name.equals(p.getName()))
        .map(ContainerPort::getContainerPort)
        .findFirst();
  }

  private Optional<TrafficCapture> captureOf(Pod pod) {
    return InjectionStatus.of(pod).flatMap(status -> state.captures().stream()
        .filter(c -> pod.getMetadata().getNamespace().equals(c.getMetadata().getNamespace())
            && status.capture().equals(c.getMetadata().getName()))
        .findFirst());
  }

  private static boolean captures(TrafficCapture capture, int port) {
    if (capture.getSpec() == null || capture.getSpec().inbound == null) {
      return true;
    }
    List<String> ports = capture.getSpec().inbound.ports;
    List<Integer> excluded = capture.getSpec().inbound.excludePorts;
    if (ports == null || ports.contains("*")) {
      return excluded == null || !excluded.contains(port);
    }
    return ports.contains(Integer.toString(port));
  }

  // ---- inbound access

  /** The allow rules as source blocks: namespaces and service accounts become the addresses of their pods. */
  private InboundAccess access(MeshPolicySpec spec, String policyNamespace) {
    if (spec.inbound == null || spec.inbound.allow == null || spec.inbound.allow.isEmpty()) {
      return InboundAccess.UNRESTRICTED;
    }
    Set<Integer> named = new TreeSet<>();
    spec.inbound.allow.forEach(r -> named.addAll(Objects.requireNonNullElse(r.ports, List.of())));
    Map<Integer, Sources> perPort = new TreeMap<>();
    for (int port : named) {
      perPort.put(port, sources(spec.inbound.allow.stream()
          .filter(r -> r.ports == null || r.ports.isEmpty() || r.ports.contains(port)).toList(), policyNamespace));
    }
    Sources other = sources(spec.inbound.allow.stream().filter(r -> r.ports == null || r.ports.isEmpty()).toList(), policyNamespace);
    return new InboundAccess(true, perPort, other);
  }

  private Sources sources(List<AllowRule> rules, String policyNamespace) {
    Set<Cidr> blocks = new TreeSet<>();
    for (AllowRule rule : rules) {
      TrafficSource from = rule.from;
      if (from == null || (isEmpty(from.namespaces) && isEmpty(from.serviceAccounts) && isEmpty(from.ipBlocks))) {
        return Sources.ANYONE;
      }
      Objects.requireNonNullElse(from.ipBlocks, List.<String>of()).forEach(b -> blocks.add(Cidr.parse(b)));
      for (String namespace : Objects.requireNonNullElse(from.namespaces, List.<String>of())) {
        livePodsByNamespace.getOrDefault(namespace, List.of()).forEach(p -> podIps(p).forEach(ip -> blocks.add(Cidr.host(ip))));
      }
      for (String account : Objects.requireNonNullElse(from.serviceAccounts, List.<String>of())) {
        int slash = account.indexOf('/');
        String namespace = slash < 0 ? policyNamespace : account.substring(0, slash);
        String name = slash < 0 ? account : account.substring(slash + 1);
        livePodsByNamespace.getOrDefault(namespace, List.of()).stream()
            .filter(p -> name.equals(serviceAccount(p)))
            .forEach(p -> podIps(p).forEach(ip -> blocks.add(Cidr.host(ip))));
      }
    }
    return new Sources(false, List.copyOf(blocks));
  }

  private static String serviceAccount(Pod pod) {
    String account = pod.getSpec() == null ? null : pod.getSpec().getServiceAccountName();
    return account == null || account.isBlank() ? "default" : account;
  }

  static List<String> podIps(Pod pod) {
    if (pod.getStatus() == null) {
      return List.of();
    }
    Set<String> ips = new LinkedHashSet<>();
    if (pod.getStatus().getPodIP() != null && !pod.getStatus().getPodIP().isBlank()) {
      ips.add(pod.getStatus().getPodIP());
    }
    Objects.requireNonNullElse(pod.getStatus().getPodIPs(), List.<PodIP>of()).stream()
        .map(PodIP::getIp).filter(Objects::nonNull).forEach(ips::add);
    return List.copyOf(ips);
  }

  private static boolean isEmpty(List<?> list) {
    return list == null || list.isEmpty();
  }

  private static String key(String namespace, String name) {
    return namespace + "/" + name;
  }
}
