package io.vmesh.operator.xds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * Successful TokenReviews, remembered the way kube-apiserver's webhook authenticator caches them: keyed by a SHA-256
 * of the token (the token itself is not kept), for {@link #DEFAULT_TTL} at most and never past the token's own
 * {@code exp}. Failures are not remembered: a token the API server refused is asked about again next time. At most
 * {@code concurrency} reviews are in flight at once, so a thousand proxies reconnecting together queue here instead of
 * hammering the API server.
 */
final class TokenReviewCache {

  /** kube-apiserver's default {@code --authentication-token-webhook-cache-ttl}. */
  static final Duration DEFAULT_TTL = Duration.ofMinutes(2);
  static final int DEFAULT_CONCURRENCY = 8;
  /** Past this many entries the expired ones are swept; a cluster has about one token per proxy. */
  private static final int SWEEP_ABOVE = 20_000;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The API server's answer for one token. */
  @FunctionalInterface
  interface Review {
    TokenReviewStatus review(String token) throws ProxyAuthenticator.Refusal;
  }

  private record Entry(TokenReviewStatus status, Instant until) {
  }

  private final Review review;
  private final Duration ttl;
  private final Semaphore inFlight;
  private final Clock clock;
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();

  TokenReviewCache(Review review, Duration ttl, int concurrency, Clock clock) {
    if (ttl.isNegative() || concurrency < 1) {
      throw new IllegalArgumentException("token review cache: ttl must not be negative (" + ttl + ") and concurrency at least 1 ("
          + concurrency + ")");
    }
    this.review = review;
    this.ttl = ttl;
    this.inFlight = new Semaphore(concurrency, true);
    this.clock = clock;
  }

  /** The review of the token: remembered if a successful one is still fresh, else asked (and remembered if it succeeds). */
  TokenReviewStatus review(String token) throws ProxyAuthenticator.Refusal {
    String key = hash(token);
    Entry known = entries.get(key);
    if (known != null && clock.instant().isBefore(known.until())) {
      return known.status();
    }
    try {
      inFlight.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ProxyAuthenticator.Refusal(io.vertx.grpc.common.GrpcStatus.UNAVAILABLE, "interrupted while waiting to review the token");
    }
    TokenReviewStatus status;
    try {
      // another stream of the same token may have been reviewed while this one waited
      known = entries.get(key);
      if (known != null && clock.instant().isBefore(known.until())) {
        return known.status();
      }
      status = review.review(token);
    } finally {
      inFlight.release();
    }
    if (status != null && Boolean.TRUE.equals(status.getAuthenticated())) {
      Instant now = clock.instant();
      Instant until = now.plus(ttl);
      Optional<Instant> expiry = expiry(token);
      if (expiry.isPresent() && expiry.get().isBefore(until)) {
        until = expiry.get();
      }
      if (until.isAfter(now)) {
        if (entries.size() > SWEEP_ABOVE) {
          entries.values().removeIf(e -> !now.isBefore(e.until()));
        }
        entries.put(key, new Entry(status, until));
      }
    } else {
      entries.remove(key);
    }
    return status;
  }

  /** Forgets the token's review (its pod was re-created: the API server would refuse it now). */
  void forget(String token) {
    entries.remove(hash(token));
  }

  int size() {
    return entries.size();
  }

  /**
   * The {@code exp} claim of a JWT, read without checking the signature: only ever used to shorten how long the API
   * server's positive answer about this very token is kept, never to accept a token.
   */
  static Optional<Instant> expiry(String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      return Optional.empty();
    }
    try {
      JsonNode exp = JSON.readTree(Base64.getUrlDecoder().decode(parts[1])).get("exp");
      return exp != null && exp.canConvertToLong() ? Optional.of(Instant.ofEpochSecond(exp.asLong())) : Optional.empty();
    } catch (java.io.IOException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static String hash(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
