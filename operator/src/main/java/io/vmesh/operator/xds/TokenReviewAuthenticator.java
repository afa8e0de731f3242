package io.vmesh.operator.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * A proxy proves who it is with its pod's projected ServiceAccount token (audience {@value #AUDIENCE}), checked by the
 * API server with a TokenReview: the token's ServiceAccount must be in the node's namespace, the token must be bound
 * to the node's pod, and that pod (from the informer cache) must run as that ServiceAccount at the node's IP. There is
 * no way to turn this off: a proxy only ever gets its own pod's config. Successful reviews are remembered for a short
 * while ({@link TokenReviewCache}); the pod checks run on every stream.
 */
public final class TokenReviewAuthenticator implements ProxyAuthenticator {

  public static final String AUDIENCE = "vmesh";
  static final String POD_NAME_EXTRA = "authentication.kubernetes.io/pod-name";
  private static final String SA_PREFIX = "system:serviceaccount:";

  static final String POD_UID_EXTRA = "authentication.kubernetes.io/pod-uid";

  private final Function<ProxyId, Optional<Pod>> pods;
  private final TokenReviewCache reviews;

  /**
   * Successful reviews are kept for {@link TokenReviewCache#DEFAULT_TTL} (never past the token's expiry), at most
   * {@link TokenReviewCache#DEFAULT_CONCURRENCY} are asked at once.
   *
   * @param pods the pod of a proxy, from an informer cache (never an API call per stream)
   */
  public TokenReviewAuthenticator(KubernetesClient client, Function<ProxyId, Optional<Pod>> pods) {
    this(client, pods, TokenReviewCache.DEFAULT_TTL, TokenReviewCache.DEFAULT_CONCURRENCY, Clock.systemUTC());
  }

  /** @param cacheTtl how long a successful review is kept at most ({@code 0s}: not kept); {@code concurrency} reviews at once */
  public TokenReviewAuthenticator(KubernetesClient client, Function<ProxyId, Optional<Pod>> pods, Duration cacheTtl, int concurrency,
                                  Clock clock) {
    this.pods = pods;
    this.reviews = new TokenReviewCache(token -> {
      try {
        return client.resource(new TokenReviewBuilder().withNewSpec().withToken(token).withAudiences(AUDIENCE).endSpec().build())
            .create().getStatus();
      } catch (KubernetesClientException e) {
        throw new Refusal(GrpcStatus.UNAVAILABLE, "cannot review the token with the API server: " + e.getMessage());
      }
    }, cacheTtl, concurrency, clock);
  }

  /** Pods from an informer's cache, by namespace/name. */
  public static Function<ProxyId, Optional<Pod>> podsOf(SharedIndexInformer<Pod> informer) {
    return proxy -> Optional.ofNullable(informer.getStore().getByKey(proxy.namespace() + "/" + proxy.podName()));
  }

  @Override
  public ProxyId authenticate(String bearerToken, Node node) throws Refusal {
    ProxyId proxy;
    try {
      proxy = ProxyId.parseNodeId(node.getId());
    } catch (IllegalArgumentException e) {
      throw new Refusal(GrpcStatus.INVALID_ARGUMENT, e.getMessage());
    }
    String nodeIp = node.getId().split("~", -1)[1];
    TokenReviewStatus status = reviews.review(bearerToken);
    if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
      throw new Refusal(GrpcStatus.UNAUTHENTICATED, "the API server rejected the token (audience " + AUDIENCE + "): "
          + (status == null ? "no status" : status.getError()));
    }
    String username = status.getUser() == null ? "" : status.getUser().getUsername();
    if (!username.startsWith(SA_PREFIX) || username.split(":").length != 4) {
      throw new Refusal(GrpcStatus.PERMISSION_DENIED, "the token belongs to " + username + ", not to a ServiceAccount");
    }
    String saNamespace = username.split(":")[2];
    String serviceAccount = username.split(":")[3];
    if (!saNamespace.equals(proxy.namespace())) {
      throw new Refusal(GrpcStatus.PERMISSION_DENIED, "the token's ServiceAccount is in namespace " + saNamespace
          + ", the node " + node.getId() + " is in namespace " + proxy.namespace());
    }
    Map<String, List<String>> extra = status.getUser().getExtra();
    List<String> boundPod = extra == null ? null : extra.get(POD_NAME_EXTRA);
    if (boundPod == null || boundPod.isEmpty()) {
      throw new Refusal(GrpcStatus.PERMISSION_DENIED, "the token of " + username + " is not bound to a pod: mount a projected "
          + "ServiceAccount token (audience " + AUDIENCE + ") as injection does");
    }
    if (!boundPod.get(0).equals(proxy.podName())) {
      throw new Refusal(GrpcStatus.PERMISSION_DENIED, "the token is bound to pod " + saNamespace + "/" + boundPod.get(0)
          + ", the node names pod " + proxy);
    }
    Pod pod = pods.apply(proxy).orElseThrow(() -> new Refusal(GrpcStatus.PERMISSION_DENIED, "pod " + proxy + " is not known (yet)"));
    String podAccount = pod.getSpec() == null || pod.getSpec().getServiceAccountName() == null ? "default" : pod.getSpec().getServiceAccountName();
    if (!podAccount.equals(serviceAccount)) {
      throw new Refusal(GrpcStatus.PERMISSION_DENIED, "pod " + proxy + " runs as ServiceAccount " + podAccount + ", the token is "
          + serviceAccount + "'s");
    }
    List<String> boundUid = extra.get(POD_UID_EXTRA);
    String podUid = pod.getMetadata() == null ? null : pod.getMetadata().getUid();
    if (boundUid != null && !boundUid.isEmpty() && podUid != null && !podUid.equals(boundUid.get(0))) {
      // a review remembered from before the pod was re-created under the same name: the API server would refuse it now
      reviews.forget(bearerToken);
      throw new Refusal(GrpcStatus.PERMISSION_DENIED, "the token is bound to pod " + proxy + " with uid " + boundUid.get(0)
          + ", the pod now has uid " + podUid + " (re-created): use the new pod's token");
    }
    String podIp = pod.getStatus() == null ? null : pod.getStatus().getPodIP();
    if (podIp != null && !podIp.isEmpty() && !podIp.equals(nodeIp)) {
      throw new Refusal(GrpcStatus.PERMISSION_DENIED, "the node id says IP " + nodeIp + ", pod " + proxy + " has IP " + podIp);
    }
    return proxy;
  }
}
