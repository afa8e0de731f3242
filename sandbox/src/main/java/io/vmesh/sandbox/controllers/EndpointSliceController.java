package io.vmesh.sandbox.controllers;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The endpoint slice controller: for each Service with a selector, the pods it selects that have an IP, as
 * {@code discovery.k8s.io/v1} EndpointSlices, one per distinct set of resolved ports (a named targetPort may be
 * a different number in different pods), {@code ready} from the pod's Ready condition, {@code terminating} from
 * its deletionTimestamp. Slices are written only when they change; slices of Services that are gone, or of port
 * sets no pod has any more, are deleted. Services without a selector are left to whoever writes their slices.
 * A dual-stack Service gets its slices twice, {@code addressType: IPv4} and {@code IPv6} (named {@code -vmesh-v6}).
 */
public final class EndpointSliceController {

  private static final Logger LOG = LoggerFactory.getLogger(EndpointSliceController.class);
  static final String MANAGED_BY = "endpointslice-controller.vmesh.io";
  static final String SERVICE_NAME = "kubernetes.io/service-name";

  private final KubernetesClient client;

  public EndpointSliceController(KubernetesClient client) {
    this.client = client;
  }

  public void sync() {
    List<Service> services = client.services().inAnyNamespace().list().getItems();
    List<Pod> pods = client.pods().inAnyNamespace().list().getItems();
    List<EndpointSlice> existing = client.discovery().v1().endpointSlices().inAnyNamespace()
        .withLabel("endpointslice.kubernetes.io/managed-by", MANAGED_BY).list().getItems();
    Set<String> wanted = new HashSet<>();
    for (Service s : services) {
      if (s.getSpec().getSelector() == null || s.getSpec().getSelector().isEmpty()) {
        continue;
      }
      for (EndpointSlice slice : desired(s, pods)) {
        String key = slice.getMetadata().getNamespace() + "/" + slice.getMetadata().getName();
        wanted.add(key);
        Optional<EndpointSlice> current = existing.stream()
            .filter(e -> (e.getMetadata().getNamespace() + "/" + e.getMetadata().getName()).equals(key)).findFirst();
        if (current.isPresent() && same(current.get(), slice)) {
          continue;
        }
        try {
          var slices = client.discovery().v1().endpointSlices().inNamespace(slice.getMetadata().getNamespace());
          if (current.isPresent()) {
            // an update names the version it replaces
            slice.getMetadata().setResourceVersion(current.get().getMetadata().getResourceVersion());
            slices.resource(slice).update();
          } else {
            slices.resource(slice).create();
          }
          LOG.info("endpointslice {}: {} endpoints, {} ready", key, slice.getEndpoints().size(),
              slice.getEndpoints().stream().filter(e -> Boolean.TRUE.equals(e.getConditions().getReady())).count());
        } catch (KubernetesClientException e) {
          LOG.warn("endpointslice {}: not written: {}", key, e.getMessage());
        }
      }
    }
    for (EndpointSlice e : existing) {
      if (!wanted.contains(e.getMetadata().getNamespace() + "/" + e.getMetadata().getName())) {
        client.discovery().v1().endpointSlices().inNamespace(e.getMetadata().getNamespace()).withName(e.getMetadata().getName()).delete();
      }
    }
  }

  private static boolean same(EndpointSlice a, EndpointSlice b) {
    return java.util.Objects.equals(a.getAddressType(), b.getAddressType()) && a.getEndpoints().equals(b.getEndpoints()) && a.getPorts().equals(b.getPorts())
        && a.getMetadata().getLabels().equals(b.getMetadata().getLabels());
  }

  /**
   * The slices a Service should have: one set per IP family of the Service ({@code spec.ipFamilies}, IPv4 when it
   * names none), each with the pods' addresses of that family, as the real controller writes them for dual stack.
   */
  static List<EndpointSlice> desired(Service s, List<Pod> pods) {
    List<String> families = families(s);
    List<EndpointSlice> slices = new ArrayList<>();
    for (String family : families) {
      slices.addAll(desired(s, pods, family, family.equals("IPv4") ? "-vmesh" : "-vmesh-v6"));
    }
    return slices;
  }

  /** The Service's IP families, primary first; IPv4 for a Service written before families existed. */
  public static List<String> families(Service s) {
    List<String> families = s.getSpec().getIpFamilies();
    return families == null || families.isEmpty() ? List.of("IPv4") : families;
  }

  /** The pod's address of {@code family} ({@code IPv4} or {@code IPv6}), or null when it has none. */
  public static String podIp(Pod p, String family) {
    List<String> ips = new ArrayList<>();
    if (p.getStatus().getPodIPs() != null) {
      p.getStatus().getPodIPs().forEach(i -> ips.add(i.getIp()));
    }
    if (ips.isEmpty() && p.getStatus().getPodIP() != null) {
      ips.add(p.getStatus().getPodIP());
    }
    return ips.stream().filter(ip -> ip != null && ip.contains(":") == family.equals("IPv6")).findFirst().orElse(null);
  }

  private static List<EndpointSlice> desired(Service s, List<Pod> pods, String family, String suffix) {
    String ns = s.getMetadata().getNamespace();
    Map<List<EndpointPort>, List<Endpoint>> byPorts = new LinkedHashMap<>();
    List<Pod> selected = pods.stream()
        .filter(p -> ns.equals(p.getMetadata().getNamespace()))
        .filter(p -> p.getStatus() != null && p.getStatus().getPodIP() != null && !p.getStatus().getPodIP().isEmpty())
        .filter(p -> podIp(p, family) != null)
        .filter(p -> !"Succeeded".equals(p.getStatus().getPhase()) && !"Failed".equals(p.getStatus().getPhase()))
        .filter(p -> selects(s.getSpec().getSelector(), p.getMetadata().getLabels()))
        .sorted(Comparator.comparing(p -> p.getMetadata().getName()))
        .toList();
    for (Pod p : selected) {
      List<EndpointPort> ports = new ArrayList<>();
      boolean all = true;
      for (ServicePort sp : s.getSpec().getPorts()) {
        Integer number = targetPort(sp, p);
        if (number == null) {
          all = false;
          continue;
        }
        ports.add(new EndpointPortBuilder().withName(sp.getName() == null ? "" : sp.getName()).withPort(number)
            .withProtocol(sp.getProtocol() == null ? "TCP" : sp.getProtocol()).withAppProtocol(sp.getAppProtocol()).build());
      }
      if (ports.isEmpty() && !all) {
        continue;
      }
      boolean terminating = p.getMetadata().getDeletionTimestamp() != null;
      boolean ready = DeploymentController.ready(p) && !terminating;
      byPorts.computeIfAbsent(ports, k -> new ArrayList<>()).add(new EndpointBuilder()
          .withAddresses(podIp(p, family))
          .withNewConditions().withReady(ready).withServing(ready).withTerminating(terminating).endConditions()
          .withNodeName(p.getSpec().getNodeName())
          .withNewTargetRef().withKind("Pod").withName(p.getMetadata().getName()).withNamespace(ns)
          .withUid(p.getMetadata().getUid()).endTargetRef()
          .build());
    }
    List<EndpointSlice> slices = new ArrayList<>();
    int i = 0;
    for (Map.Entry<List<EndpointPort>, List<Endpoint>> e : byPorts.entrySet()) {
      slices.add(slice(s, s.getMetadata().getName() + suffix + (i++ == 0 ? "" : "-" + i), family, e.getKey(), e.getValue()));
    }
    if (slices.isEmpty()) {
      // a Service with no pods still has a slice, with no endpoints, as on a cluster
      List<EndpointPort> ports = new ArrayList<>();
      for (ServicePort sp : s.getSpec().getPorts()) {
        if (sp.getTargetPort() == null || sp.getTargetPort().getIntVal() != null) {
          ports.add(new EndpointPortBuilder().withName(sp.getName() == null ? "" : sp.getName())
              .withPort(sp.getTargetPort() == null ? sp.getPort() : sp.getTargetPort().getIntVal())
              .withProtocol(sp.getProtocol() == null ? "TCP" : sp.getProtocol()).withAppProtocol(sp.getAppProtocol()).build());
        }
      }
      slices.add(slice(s, s.getMetadata().getName() + suffix, family, ports, List.of()));
    }
    return slices;
  }

  private static EndpointSlice slice(Service s, String name, String family, List<EndpointPort> ports, List<Endpoint> endpoints) {
    return new EndpointSliceBuilder()
        .withNewMetadata().withName(name).withNamespace(s.getMetadata().getNamespace())
        .addToLabels(SERVICE_NAME, s.getMetadata().getName())
        .addToLabels("endpointslice.kubernetes.io/managed-by", MANAGED_BY)
        .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("Service").withName(s.getMetadata().getName())
            .withUid(s.getMetadata().getUid()).withController(true).withBlockOwnerDeletion(true).build())
        .endMetadata()
        .withAddressType(family)
        .withPorts(ports)
        .withEndpoints(endpoints)
        .build();
  }

  /** The port number a Service port reaches in a pod: its targetPort, a container port's name, or its own port. */
  static Integer targetPort(ServicePort sp, Pod p) {
    IntOrString target = sp.getTargetPort();
    if (target == null) {
      return sp.getPort();
    }
    if (target.getIntVal() != null) {
      return target.getIntVal();
    }
    String name = target.getStrVal();
    if (name.matches("\\d+")) {
      return Integer.parseInt(name);
    }
    List<Container> containers = new ArrayList<>(p.getSpec().getContainers());
    if (p.getSpec().getInitContainers() != null) {
      containers.addAll(p.getSpec().getInitContainers());
    }
    for (Container c : containers) {
      if (c.getPorts() != null) {
        for (ContainerPort cp : c.getPorts()) {
          if (name.equals(cp.getName())) {
            return cp.getContainerPort();
          }
        }
      }
    }
    return null;
  }

  static boolean selects(Map<String, String> selector, Map<String, String> labels) {
    if (labels == null) {
      return false;
    }
    return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }
}
