package io.vmesh.operator.xds;

import io.vmesh.operator.api.OutboundTrafficPolicy;
import io.vmesh.operator.api.Protocol;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The mesh as config generation sees it: every Service the proxies can reach (with its ready endpoints) and,
 * for each injected pod, what is particular to it. Built by {@link MeshModelBuilder}, turned into Envoy
 * resources by {@link SnapshotGenerator}.
 */
public record MeshModel(List<ServiceModel> services, Map<ProxyId, ProxyModel> proxies) {

  public static final String DOMAIN_SUFFIX = "svc.cluster.local";

  public MeshModel {
    services = List.copyOf(services);
    proxies = Map.copyOf(proxies);
  }

  /**
   * A Service; {@code clusterIps} (primary first, one per IP family of a dual-stack Service) is empty for a headless
   * one (its clients dial the endpoints' addresses).
   */
  public record ServiceModel(String name, String namespace, List<String> clusterIps, List<ServicePortModel> ports) {

    public ServiceModel {
      clusterIps = List.copyOf(clusterIps);
      ports = List.copyOf(ports);
    }

    /** The primary cluster IP. */
    public Optional<String> clusterIp() {
      return clusterIps.stream().findFirst();
    }

    /** {@code name.namespace.svc.cluster.local}. */
    public String host() {
      return name + "." + namespace + "." + DOMAIN_SUFFIX;
    }

    public boolean headless() {
      return clusterIps.isEmpty();
    }

    public Optional<ServicePortModel> port(int number) {
      return ports.stream().filter(p -> p.port() == number).findFirst();
    }
  }

  /** One TCP port of a Service; {@code protocol} empty means sniffed. */
  public record ServicePortModel(int port, Optional<Protocol> protocol, List<EndpointAddress> endpoints) {

    public ServicePortModel {
      endpoints = List.copyOf(endpoints);
    }
  }

  /** A ready endpoint: pod address and target port. */
  public record EndpointAddress(String ip, int port) {
  }

  /**
   * One injected pod's view: its outbound policy and routes (from the MeshPolicy in effect), its inbound ports
   * with their protocols, and who may connect to them.
   *
   * @param policyKey names the MeshPolicy in effect ({@code namespace/name}, empty when none): proxies with the same
   *     key and namespace get the same outbound resources
   */
  public record ProxyModel(ProxyId id, Optional<String> podIp, OutboundTrafficPolicy outboundPolicy, String policyKey,
                           List<RouteModel> routes, List<InboundPort> inbound, InboundAccess access) {

    public ProxyModel {
      routes = List.copyOf(routes);
      inbound = List.copyOf(inbound);
    }
  }

  /**
   * An inbound port of the pod. {@code protocol} empty means sniffed; {@code served} false means no container
   * or Service declares it (it is only named by an allow rule): it gets a chain to the inbound passthrough.
   */
  public record InboundPort(int port, Optional<Protocol> protocol, boolean served) {
  }

  /** A MeshPolicy HTTP route whose destinations resolved to Service ports. */
  public record RouteModel(String name, List<String> hosts, Optional<String> pathPrefix, Map<String, String> headers,
                           List<Destination> destinations, Optional<Duration> timeout, Optional<RetryModel> retries) {

    public RouteModel {
      hosts = List.copyOf(hosts);
      headers = Map.copyOf(headers);
      destinations = List.copyOf(destinations);
    }
  }

  /** A weighted destination: a Service port, by its cluster. */
  public record Destination(ServiceModel service, int port, int weight) {

    public String cluster() {
      return SnapshotGenerator.outboundCluster(port, service.host());
    }
  }

  public record RetryModel(int attempts, String retryOn) {
  }

  /** A CIDR block, such as {@code 10.0.0.0/8}; a pod address is a /32 (IPv4) or /128 (IPv6). */
  public record Cidr(String address, int prefixLength) implements Comparable<Cidr> {

    public static Cidr parse(String text) {
      int slash = text.indexOf('/');
      if (slash < 0) {
        return host(text);
      }
      return new Cidr(text.substring(0, slash), Integer.parseInt(text.substring(slash + 1)));
    }

    public static Cidr host(String ip) {
      return new Cidr(ip, ip.contains(":") ? 128 : 32);
    }

    @Override
    public int compareTo(Cidr other) {
      int byAddress = address.compareTo(other.address);
      return byAddress != 0 ? byAddress : Integer.compare(prefixLength, other.prefixLength);
    }
  }

  /** Sources let in: anyone, or the listed blocks (none at all: nobody). */
  public record Sources(boolean anyone, List<Cidr> blocks) {

    public static final Sources ANYONE = new Sources(true, List.of());

    public Sources {
      blocks = List.copyOf(blocks);
    }
  }

  /**
   * The inbound allow rules, resolved to source addresses per port. Unrestricted when the policy has no rule.
   *
   * @param perPort ports some rule names
   * @param otherPorts what rules without a port list let in, for every other port
   */
  public record InboundAccess(boolean restricted, Map<Integer, Sources> perPort, Sources otherPorts) {

    public static final InboundAccess UNRESTRICTED = new InboundAccess(false, Map.of(), Sources.ANYONE);

    public InboundAccess {
      perPort = Map.copyOf(perPort);
    }

    public Sources forPort(int port) {
      return perPort.getOrDefault(port, otherPorts);
    }
  }
}
