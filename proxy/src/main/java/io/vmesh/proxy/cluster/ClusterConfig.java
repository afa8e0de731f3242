package io.vmesh.proxy.cluster;

import io.vmesh.proxy.http.UpstreamProtocol;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.Optional;

/**
 * One upstream cluster as the proxy runs it: {@code STATIC} (fixed endpoints picked by its
 * {@link LoadBalancer}; none at all makes it a black hole) or {@code ORIGINAL_DST} (each connection goes
 * where it was originally sent).
 */
public final class ClusterConfig {

  public enum Type { STATIC, ORIGINAL_DST }

  private final String name;
  private final Type type;
  private final List<InetSocketAddress> endpoints;
  private final int connectTimeoutMillis;
  private final String sourceAddress;
  /** {@code upstream_bind_config.extra_source_addresses}: used instead of {@link #sourceAddress} for upstreams of their family. */
  private final List<String> extraSourceAddresses;
  private final LoadBalancer balancer;
  private final UpstreamProtocol httpProtocol;

  /** Round robin, no outlier detection. */
  public ClusterConfig(String name, Type type, List<InetSocketAddress> endpoints, int connectTimeoutMillis, String sourceAddress) {
    this(name, type, endpoints, connectTimeoutMillis, sourceAddress, LoadBalancer.Policy.ROUND_ROBIN, null, Clock.systemUTC(),
        UpstreamProtocol.HTTP1);
  }

  /** Round robin, no outlier detection; @param httpProtocol how HTTP requests reach the endpoints (Envoy's {@code HttpProtocolOptions}) */
  public ClusterConfig(String name, Type type, List<InetSocketAddress> endpoints, int connectTimeoutMillis, String sourceAddress,
                       UpstreamProtocol httpProtocol) {
    this(name, type, endpoints, connectTimeoutMillis, sourceAddress, LoadBalancer.Policy.ROUND_ROBIN, null, Clock.systemUTC(), httpProtocol);
  }

  /** HTTP/1.1 upstream. */
  public ClusterConfig(String name, Type type, List<InetSocketAddress> endpoints, int connectTimeoutMillis, String sourceAddress,
                       LoadBalancer.Policy policy, OutlierDetection outlier, Clock clock) {
    this(name, type, endpoints, connectTimeoutMillis, sourceAddress, policy, outlier, clock, UpstreamProtocol.HTTP1);
  }

  /**
   * @param sourceAddress the local address upstream connections bind, or null for the kernel's choice
   * @param outlier null for no outlier detection
   * @param httpProtocol how HTTP requests reach the endpoints (Envoy's {@code HttpProtocolOptions})
   */
  public ClusterConfig(String name, Type type, List<InetSocketAddress> endpoints, int connectTimeoutMillis, String sourceAddress,
                       LoadBalancer.Policy policy, OutlierDetection outlier, Clock clock, UpstreamProtocol httpProtocol) {
    this(name, type, endpoints, connectTimeoutMillis, sourceAddress, List.of(), policy, outlier, clock, httpProtocol);
  }

  /** @param extraSourceAddresses bound instead of {@code sourceAddress} for upstreams of their address family */
  public ClusterConfig(String name, Type type, List<InetSocketAddress> endpoints, int connectTimeoutMillis, String sourceAddress,
                       List<String> extraSourceAddresses, LoadBalancer.Policy policy, OutlierDetection outlier, Clock clock,
                       UpstreamProtocol httpProtocol) {
    this.extraSourceAddresses = List.copyOf(extraSourceAddresses);
    this.name = name;
    this.type = type;
    this.endpoints = List.copyOf(endpoints);
    this.connectTimeoutMillis = connectTimeoutMillis;
    this.sourceAddress = sourceAddress;
    this.balancer = new LoadBalancer(this.endpoints, policy, outlier, clock);
    this.httpProtocol = httpProtocol;
  }

  public UpstreamProtocol httpProtocol() {
    return httpProtocol;
  }

  public String name() {
    return name;
  }

  public Type type() {
    return type;
  }

  public List<InetSocketAddress> endpoints() {
    return endpoints;
  }

  public int connectTimeoutMillis() {
    return connectTimeoutMillis;
  }

  public Optional<String> sourceAddress() {
    return Optional.ofNullable(sourceAddress);
  }

  public List<String> extraSourceAddresses() {
    return extraSourceAddresses;
  }

  /**
   * The local address a connection to {@code upstream} binds, as Envoy picks it: the extra source address of the
   * upstream's family if there is one, else {@code source_address} (an IPv4 source cannot reach an IPv6 upstream).
   */
  public Optional<String> sourceAddressFor(java.net.InetAddress upstream) {
    boolean v6 = upstream instanceof java.net.Inet6Address;
    if (sourceAddress != null && sourceAddress.contains(":") != v6) {
      for (String extra : extraSourceAddresses) {
        if (extra.contains(":") == v6) {
          return Optional.of(extra);
        }
      }
    }
    return sourceAddress();
  }

  public LoadBalancer balancer() {
    return balancer;
  }

  /** The next endpoint by the cluster's policy, skipping ejected hosts; empty when there are none (a black hole such as BlackHoleCluster). */
  public Optional<InetSocketAddress> nextEndpoint() {
    return balancer.pick();
  }

  /** A connection (tcp_proxy) to {@code endpoint} is being made; {@link #connected} or {@link #connectFailed} follows. */
  public void connectionStarted(InetSocketAddress endpoint) {
    balancer.started(endpoint);
  }

  /** ... it was made: a success for outlier detection; {@link #connectionEnded} follows. */
  public void connected(InetSocketAddress endpoint) {
    balancer.result(endpoint, 200);
  }

  /**
   * ... it could not be made: a failure for outlier detection, and the connection is over.
   *
   * @return whether this ejected the endpoint
   */
  public boolean connectFailed(InetSocketAddress endpoint) {
    balancer.ended(endpoint);
    return balancer.connectFailed(endpoint);
  }

  /** A connection that was made has ended. */
  public void connectionEnded(InetSocketAddress endpoint) {
    balancer.ended(endpoint);
  }
}
