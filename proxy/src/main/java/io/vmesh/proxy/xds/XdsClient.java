package io.vmesh.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vmesh.proxy.config.AdsConfig;
import io.vmesh.proxy.config.ConfigException;
import io.vmesh.proxy.config.RuntimeConfig;
import io.vmesh.proxy.config.RuntimeConfigBuilder;
import io.vmesh.proxy.config.XdsResources;
import io.vmesh.proxy.config.XdsResources.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's ADS client (state of the world, one stream for all four types): subscribes to every
 * cluster and listener, to the endpoints of the EDS clusters and to the routes the listeners name. Each
 * response is applied atomically — a whole new configuration from the last accepted resources with this
 * response's type replaced — and ACKed; a response that does not build is NACKed with the field path and
 * changes nothing. When the stream breaks it reconnects with exponential backoff and full jitter, serving
 * the last good configuration meanwhile, and resumes with the versions it has so an unchanged server
 * need not resend. Everything runs on this verticle's event loop.
 */
public final class XdsClient extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(XdsClient.class);

  /** google.rpc.Code INVALID_ARGUMENT (its enum is not among Envoy's classes). */
  static final int INVALID_ARGUMENT = 3;

  static final Duration BACKOFF_BASE = Duration.ofMillis(500);
  static final Duration BACKOFF_MAX = Duration.ofSeconds(30);

  /** Envoy's ADS service, carried without generated stubs (REFERENCE 6.10). */
  public static final ServiceName SERVICE =
      ServiceName.create("envoy.service.discovery.v3", "AggregatedDiscoveryService");
  public static final String METHOD = "StreamAggregatedResources";
  private static final ServiceMethod<DiscoveryResponse, DiscoveryRequest> ADS =
      ServiceMethod.client(SERVICE, METHOD, GrpcMessageEncoder.encoder(),
          GrpcMessageDecoder.decoder(DiscoveryResponse.newBuilder()));

  private final AdsConfig ads;
  private final Bootstrap bootstrap;
  private final Path tokenFile;
  private final Supplier<RuntimeConfig> running;
  private final Function<RuntimeConfig, Future<Void>> apply;
  private final Clock clock;

  private GrpcClient client;
  // the CA bundle the TLS client trusts, compared with the file at each reconnect (the kubelet updates the ConfigMap)
  private String trustedCa;
  private Stream stream;
  private int attempt;
  private long reconnectTimer = -1;
  private boolean stopped;
  private String tokenProblem;
  // the nonce of the last response of each type on the current stream, and the names subscribed to
  private final Map<Type, String> nonces = new EnumMap<>(Type.class);
  private final Map<Type, Set<String>> subscribed = new EnumMap<>(Type.class);

  /**
   * @param running the configuration that runs now (its {@link RuntimeConfig#xds()} is the last accepted state)
   * @param apply runs a new configuration; fails when it cannot (a listener that cannot bind), then nothing changed
   */
  public XdsClient(AdsConfig ads, Bootstrap bootstrap, Path tokenFile, Supplier<RuntimeConfig> running,
                   Function<RuntimeConfig, Future<Void>> apply, Clock clock) {
    this.ads = ads;
    this.bootstrap = bootstrap;
    this.tokenFile = tokenFile;
    this.running = running;
    this.apply = apply;
    this.clock = clock;
  }

  @Override
  public Future<?> start() {
    return ensureClient().onSuccess(v -> connect());
  }

  /**
   * The gRPC client, made anew when the trusted CA file changed since the last one was made: after a CA rotation the
   * operator's new certificate is verified by the new bundle, which the next stream must use. An unreadable CA file
   * fails the start (with its name) and keeps the current client on a reconnect.
   */
  private Future<Void> ensureClient() {
    if (!ads.tls()) {
      return client != null ? Future.succeededFuture() : build(null);
    }
    String caFile = ads.trustedCaFile().orElseThrow();
    return vertx.fileSystem().readFile(caFile).transform(ar -> {
      if (ar.failed()) {
        String why = "cannot read the xDS CA file " + caFile + ": " + ar.cause().getMessage();
        if (client == null) {
          return Future.failedFuture(new IllegalStateException(why));
        }
        LOG.warn("xDS: {}; keeping the CA read before", why);
        return Future.succeededFuture();
      }
      String pem = ar.result().toString(StandardCharsets.UTF_8);
      if (client != null && pem.equals(trustedCa)) {
        return Future.succeededFuture();
      }
      if (client != null) {
        LOG.info("xDS: the CA file {} changed; the next stream trusts the new bundle", caFile);
      }
      return build(pem);
    });
  }

  private Future<Void> build(String caPem) {
    HttpClientOptions options = new HttpClientOptions()
        .setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false)
        .setConnectTimeout(ads.connectTimeoutMillis());
    if (caPem != null) {
      options.setSsl(true).setUseAlpn(true).setVerifyHost(true)
          .setTrustOptions(new PemTrustOptions().addCertValue(io.vertx.core.buffer.Buffer.buffer(caPem)));
    }
    GrpcClient old = client;
    // creating the client loads TLS classes and the trust store: not on the event loop
    return vertx.executeBlocking(() -> GrpcClient.client(vertx, options)).map(c -> {
      client = c;
      trustedCa = caPem;
      if (old != null) {
        old.close();
      }
      return null;
    });
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    if (reconnectTimer >= 0) {
      vertx.cancelTimer(reconnectTimer);
    }
    if (stream != null) {
      stream.request.cancel();
    }
    return client == null ? Future.succeededFuture() : client.close();
  }

  /** One ADS stream; responses of a stream that was replaced are dropped. */
  private final class Stream {
    final GrpcClientRequest<DiscoveryRequest, DiscoveryResponse> request;
    boolean nodeSent;
    boolean gotResponse;
    // responses are applied one after the other, each once the previous one's listeners are bound
    Future<Void> tail = Future.succeededFuture();

    Stream(GrpcClientRequest<DiscoveryRequest, DiscoveryResponse> request) {
      this.request = request;
    }

    void send(DiscoveryRequest.Builder r) {
      if (!nodeSent) {
        // Envoy sends the node on the first request of a stream only
        r.setNode(bootstrap.getNode());
        nodeSent = true;
      }
      request.write(r.build());
    }
  }

  private void connect() {
    reconnectTimer = -1;
    if (stopped) {
      return;
    }
    AdsConfig.Endpoint endpoint = ads.endpoints().get(attempt % ads.endpoints().size());
    token().onComplete(tokenRead -> client.request(SocketAddress.inetSocketAddress(endpoint.port(), endpoint.host()), ADS).onComplete(ar -> {
      if (ar.failed()) {
        retry(endpoint, "cannot open a stream: " + ar.cause().getMessage());
        return;
      }
      GrpcClientRequest<DiscoveryRequest, DiscoveryResponse> request = ar.result();
      tokenRead.result().ifPresent(t -> request.headers().set("authorization", "Bearer " + t));
      Stream s = new Stream(request);
      stream = s;
      nonces.clear();
      request.response().onComplete(res -> {
        if (res.failed()) {
          if (stream == s) {
            retry(endpoint, res.cause().getMessage());
          }
          return;
        }
        GrpcClientResponse<DiscoveryRequest, DiscoveryResponse> response = res.result();
        response.handler(message -> {
          if (stream == s) {
            s.tail = s.tail.transform(v -> onResponse(s, message));
          }
        });
        response.exceptionHandler(e -> {
          if (stream == s) {
            retry(endpoint, e.getMessage());
          }
        });
        response.endHandler(v -> {
          if (stream == s) {
            retry(endpoint, "the server ended the stream: " + response.status()
                + (response.statusMessage() == null ? "" : " " + response.statusMessage()));
          }
        });
      });
      subscribe(s);
    }));
  }

  /**
   * The first requests of a stream: CDS and LDS wildcard, and EDS and RDS for the names known, each with
   * the version last accepted, so a server that has nothing newer need not send it again.
   */
  private void subscribe(Stream s) {
    RuntimeConfig config = running.get();
    subscribed.put(Type.CLUSTER, Set.of());
    subscribed.put(Type.LISTENER, Set.of());
    subscribed.put(Type.ENDPOINT, edsNames(config.xds()));
    subscribed.put(Type.ROUTE, rdsNames(config.xds()));
    LOG.info("xDS: stream open to {} ({}); resuming from versions {}", ads.clusterName(), ads.endpoints(), config.xds().versions());
    for (Type type : Type.values()) {
      if ((type == Type.ENDPOINT || type == Type.ROUTE) && subscribed.get(type).isEmpty()) {
        continue;
      }
      s.send(request(type, config.xds().versions().getOrDefault(type, ""), ""));
    }
  }

  private DiscoveryRequest.Builder request(Type type, String version, String nonce) {
    return DiscoveryRequest.newBuilder().setTypeUrl(type.typeUrl()).setVersionInfo(version).setResponseNonce(nonce)
        .addAllResourceNames(subscribed.getOrDefault(type, Set.of()));
  }

  private Future<Void> onResponse(Stream s, DiscoveryResponse response) {
    if (stream != s || stopped) {
      return Future.succeededFuture();
    }
    if (!s.gotResponse) {
      s.gotResponse = true;
      attempt = 0;
    }
    Optional<Type> known = Type.ofTypeUrl(response.getTypeUrl());
    if (known.isEmpty()) {
      LOG.warn("xDS: NACK of type {} (nonce {}): not a type vmesh-proxy subscribes to", response.getTypeUrl(), response.getNonce());
      s.send(DiscoveryRequest.newBuilder().setTypeUrl(response.getTypeUrl()).setResponseNonce(response.getNonce())
          .setErrorDetail(Status.newBuilder().setCode(INVALID_ARGUMENT)
              .setMessage("type " + response.getTypeUrl() + " is not supported by vmesh-proxy")));
      return Future.succeededFuture();
    }
    Type type = known.get();
    nonces.put(type, response.getNonce());
    RuntimeConfig current = running.get();
    String previousVersion = current.xds().versions().getOrDefault(type, "");
    RuntimeConfig next;
    try {
      XdsResources received = current.xds().with(type, decode(type, response), response.getVersionInfo(), clock.instant());
      // endpoints and routes that no cluster or listener names any more go (Envoy's rule for EDS and RDS)
      XdsResources resources = received.retain(edsNames(received), rdsNames(received));
      next = RuntimeConfigBuilder.build(bootstrap, resources, current, clock);
    } catch (ConfigException e) {
      nack(s, type, previousVersion, response, String.join("\n", e.problems()));
      return Future.succeededFuture();
    } catch (RuntimeException e) {
      // a bug of ours, not the server's: still answered, so the server does not wait for an ACK forever
      LOG.error("xDS: building the configuration from {} version {} failed", type, response.getVersionInfo(), e);
      nack(s, type, previousVersion, response, "vmesh-proxy could not apply it: " + e);
      return Future.succeededFuture();
    }
    Promise<Void> done = Promise.promise();
    apply.apply(next).onComplete(ar -> {
      if (stream != s) {
        // applied, but the stream that asked for it is gone: the next stream resumes from it
        done.complete();
        return;
      }
      if (ar.failed()) {
        nack(s, type, previousVersion, response, ar.cause().getMessage());
      } else {
        ack(s, type, response, next);
      }
      done.complete();
    });
    return done.future();
  }

  private void ack(Stream s, Type type, DiscoveryResponse response, RuntimeConfig next) {
    LOG.info("xDS: ACK {} version {} ({} resources){}{}", type, response.getVersionInfo(), response.getResourcesCount(),
        next.warmingClusters().isEmpty() ? "" : "; clusters waiting for endpoints: " + next.warmingClusters(),
        next.warmingListeners().isEmpty() ? "" : "; listeners waiting for routes: " + next.warmingListeners());
    s.send(request(type, response.getVersionInfo(), response.getNonce()));
    // the names to ask EDS and RDS for follow the clusters and listeners just accepted
    resubscribe(s, Type.ENDPOINT, edsNames(next.xds()));
    resubscribe(s, Type.ROUTE, rdsNames(next.xds()));
  }

  private void resubscribe(Stream s, Type type, Set<String> names) {
    if (names.equals(subscribed.get(type))) {
      return;
    }
    subscribed.put(type, names);
    s.send(request(type, running.get().xds().versions().getOrDefault(type, ""), nonces.getOrDefault(type, "")));
  }

  private void nack(Stream s, Type type, String previousVersion, DiscoveryResponse response, String problem) {
    LOG.warn("xDS: NACK {} version {} (nonce {}), keeping version {}: {}", type, response.getVersionInfo(), response.getNonce(),
        previousVersion.isEmpty() ? "(none)" : previousVersion, problem);
    s.send(request(type, previousVersion, response.getNonce())
        .setErrorDetail(Status.newBuilder().setCode(INVALID_ARGUMENT).setMessage(problem)));
  }

  /** The response's resources by name; refused when one is of another type, cannot be decoded, has no name or a taken one. */
  static Map<String, Message> decode(Type type, DiscoveryResponse response) throws ConfigException {
    Map<String, Message> byName = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < response.getResourcesCount(); i++) {
      Any any = response.getResources(i);
      String at = "resources[" + i + "]";
      if (!any.getTypeUrl().equals(type.typeUrl())) {
        problems.add(ConfigException.at(at, "type " + any.getTypeUrl() + " in a response of type " + type.typeUrl()));
        continue;
      }
      Message resource;
      String name;
      try {
        switch (type) {
          case CLUSTER -> {
            Cluster c = any.unpack(Cluster.class);
            resource = c;
            name = c.getName();
          }
          case ENDPOINT -> {
            ClusterLoadAssignment c = any.unpack(ClusterLoadAssignment.class);
            resource = c;
            name = c.getClusterName();
          }
          case LISTENER -> {
            Listener l = any.unpack(Listener.class);
            resource = l;
            name = l.getName();
          }
          case ROUTE -> {
            RouteConfiguration r = any.unpack(RouteConfiguration.class);
            resource = r;
            name = r.getName();
          }
          default -> throw new IllegalStateException(type.toString());
        }
      } catch (InvalidProtocolBufferException e) {
        problems.add(ConfigException.at(at, "cannot decode " + any.getTypeUrl() + ": " + e.getMessage()));
        continue;
      }
      if (name.isEmpty()) {
        problems.add(ConfigException.at(at, "a resource needs a name"));
      } else if (byName.putIfAbsent(name, resource) != null) {
        problems.add(ConfigException.at(at, "a second resource named '" + name + "'"));
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return byName;
  }

  /** The ClusterLoadAssignments the EDS clusters need (service_name, else the cluster's name). */
  static Set<String> edsNames(XdsResources xds) {
    SortedSet<String> names = new TreeSet<>();
    xds.clusters().values().forEach(v -> {
      Cluster c = v.resource();
      if (c.getType() == Cluster.DiscoveryType.EDS) {
        names.add(c.getEdsClusterConfig().getServiceName().isEmpty() ? c.getName() : c.getEdsClusterConfig().getServiceName());
      }
    });
    return Collections.unmodifiableSortedSet(names);
  }

  /** The route configurations the listeners' HTTP connection managers name by RDS. */
  static Set<String> rdsNames(XdsResources xds) {
    SortedSet<String> names = new TreeSet<>();
    xds.listeners().values().forEach(v -> {
      List<FilterChain> chains = new ArrayList<>(v.resource().getFilterChainsList());
      if (v.resource().hasDefaultFilterChain()) {
        chains.add(v.resource().getDefaultFilterChain());
      }
      for (FilterChain chain : chains) {
        for (Filter f : chain.getFiltersList()) {
          if (f.getTypedConfig().is(HttpConnectionManager.class)) {
            try {
              HttpConnectionManager hcm = f.getTypedConfig().unpack(HttpConnectionManager.class);
              if (hcm.hasRds() && !hcm.getRds().getRouteConfigName().isEmpty()) {
                names.add(hcm.getRds().getRouteConfigName());
              }
            } catch (InvalidProtocolBufferException e) {
              // such a listener was refused when it arrived
            }
          }
        }
      }
    });
    return Collections.unmodifiableSortedSet(names);
  }

  /** The bearer token, read fresh at each connect (the kubelet rotates projected tokens); never fails. */
  private Future<Optional<String>> token() {
    return vertx.fileSystem().readFile(tokenFile.toString()).transform(ar -> {
      if (ar.failed()) {
        Throwable cause = ar.cause() instanceof io.vertx.core.file.FileSystemException f && f.getCause() != null ? f.getCause() : ar.cause();
        noToken(cause instanceof NoSuchFileException
            ? "no token file at " + tokenFile + ": connecting without a token (a server that checks tokens will refuse the stream)"
            : "cannot read token file " + tokenFile + " (" + cause + "): connecting without a token");
        return Future.succeededFuture(Optional.empty());
      }
      String token = ar.result().toString(StandardCharsets.UTF_8).strip();
      if (token.isEmpty()) {
        noToken("token file " + tokenFile + " is empty: connecting without a token");
        return Future.succeededFuture(Optional.empty());
      }
      tokenProblem = null;
      return Future.succeededFuture(Optional.of(token));
    });
  }

  /** Says why there is no token once, not at every reconnect. */
  private void noToken(String why) {
    if (!why.equals(tokenProblem)) {
      LOG.warn("xDS: {}", why);
    }
    tokenProblem = why;
  }

  /** Exponential backoff with full jitter (a random delay up to min(cap, base * 2^attempt)), so restarts do not stampede. */
  private void retry(AdsConfig.Endpoint endpoint, String why) {
    if (stopped) {
      return;
    }
    stream = null;
    long ceiling = Math.min(BACKOFF_MAX.toMillis(), BACKOFF_BASE.toMillis() << Math.min(attempt, 16));
    long delay = Math.max(1, ThreadLocalRandom.current().nextLong(ceiling + 1));
    attempt++;
    LOG.warn("xDS: stream to {} broke ({}); serving the last good configuration, reconnecting in {} ms", endpoint, why, delay);
    reconnectTimer = vertx.setTimer(delay, id -> ensureClient().onComplete(ar -> {
      if (ar.failed()) {
        LOG.warn("xDS: {}", ar.cause().getMessage());
      }
      connect();
    }));
  }
}
