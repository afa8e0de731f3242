package io.vmesh.proxy.cluster;

import io.vmesh.proxy.http.UpstreamProtocol;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One upstream cluster as the proxy runs it: {@code STATIC} (fixed endpoints, round robin; none at all
 * makes it a black hole) or {@code ORIGINAL_DST} (each connection goes where it was originally sent).
 */
public final class ClusterConfig {

  public enum Type { STATIC, ORIGINAL_DST }

  private final String name;
  private final Type type;
  private final List<InetSocketAddress> endpoints;
  private final int connectTimeoutMillis;
  private final String sourceAddress;
  private final UpstreamProtocol httpProtocol;
  private final AtomicInteger next = new AtomicInteger();

  /** @param sourceAddress the local address upstream connections bind, or null for the kernel's choice */
  public ClusterConfig(String name, Type type, List<InetSocketAddress> endpoints, int connectTimeoutMillis, String sourceAddress) {
    this(name, type, endpoints, connectTimeoutMillis, sourceAddress, UpstreamProtocol.HTTP1);
  }

  /** @param httpProtocol how HTTP requests reach the endpoints (Envoy's {@code HttpProtocolOptions}) */
  public ClusterConfig(String name, Type type, List<InetSocketAddress> endpoints, int connectTimeoutMillis, String sourceAddress,
                       UpstreamProtocol httpProtocol) {
    this.name = name;
    this.type = type;
    this.endpoints = List.copyOf(endpoints);
    this.connectTimeoutMillis = connectTimeoutMillis;
    this.sourceAddress = sourceAddress;
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

  /** Round robin over the endpoints; empty when there are none (a black hole such as BlackHoleCluster). */
  public Optional<InetSocketAddress> nextEndpoint() {
    if (endpoints.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(endpoints.get(Math.floorMod(next.getAndIncrement(), endpoints.size())));
  }
}
