package io.vmesh.sandbox.controllers;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentCondition;
import io.fabric8.kubernetes.api.model.apps.DeploymentConditionBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatus;
import io.fabric8.kubernetes.api.model.apps.DeploymentStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deployments → Pods, without ReplicaSets: {@code replicas} pods named {@code <deployment>-<template hash>-<5 chars>},
 * labelled from the template plus {@code pod-template-hash}, owned by the Deployment. A changed template is rolled
 * out by replacement: pods of the new hash are made first, the old ones deleted once the new ones are all ready.
 * A pod the API server refuses (a webhook denial, an unreachable webhook under failurePolicy Fail) is recorded as a
 * {@code FailedCreate} Event on the Deployment with the server's message, and tried again on the next pass. Pods
 * whose owning Deployment is gone are deleted (the garbage collector's part).
 */
public final class DeploymentController {

  private static final Logger LOG = LoggerFactory.getLogger(DeploymentController.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String HASH_LABEL = "pod-template-hash";
  private static final String ALPHABET = "bcdfghjklmnpqrstvwxz2456789";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final KubernetesClient client;
  private final Ownership pods;

  public DeploymentController(KubernetesClient client) {
    this.client = client;
    this.pods = new Ownership(client, "Deployment", "vmesh-sandbox-deployment-controller");
  }

  public void sync() {
    pods.sync(client.apps().deployments().inAnyNamespace().list().getItems(), this::reconcile);
  }

  private void reconcile(Deployment d, List<Pod> owned) {
    String ns = d.getMetadata().getNamespace();
    int replicas = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
    String hash = templateHash(d);
    List<Pod> current = owned.stream().filter(p -> hash.equals(label(p, HASH_LABEL))).sorted(byAge()).toList();
    List<Pod> old = owned.stream().filter(p -> !hash.equals(label(p, HASH_LABEL))).toList();
    for (int i = current.size(); i < replicas; i++) {
      if (!create(d, hash)) {
        break;
      }
    }
    for (int i = replicas; i < current.size(); i++) {
      delete(current.get(current.size() - 1 - (i - replicas)));
    }
    long readyCurrent = current.stream().filter(DeploymentController::ready).count();
    if (!old.isEmpty() && readyCurrent >= Math.min(replicas, current.size()) && current.size() >= replicas) {
      old.forEach(this::delete);
    }
    writeStatus(d, owned, hash, replicas);
  }

  private boolean create(Deployment d, String hash) {
    return pods.create(d, d.getSpec().getTemplate(), d.getMetadata().getName() + "-" + hash + "-" + suffix(), null,
        Map.of(HASH_LABEL, hash)) != null;
  }

  private void delete(Pod p) {
    LOG.info("pod {}/{}: deleting it (scale down or rollout)", p.getMetadata().getNamespace(), p.getMetadata().getName());
    client.pods().inNamespace(p.getMetadata().getNamespace()).withName(p.getMetadata().getName()).delete();
  }

  private void writeStatus(Deployment d, List<Pod> owned, String hash, int replicas) {
    int total = owned.size();
    int updated = (int) owned.stream().filter(p -> hash.equals(label(p, HASH_LABEL))).count();
    int ready = (int) owned.stream().filter(DeploymentController::ready).count();
    boolean available = ready >= replicas;
    DeploymentCondition availableCondition = new DeploymentConditionBuilder().withType("Available")
        .withStatus(available ? "True" : "False").withReason(available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable")
        .withMessage(available ? "Deployment has minimum availability." : "Deployment does not have minimum availability.")
        .build();
    DeploymentStatus status = new DeploymentStatusBuilder().withObservedGeneration(d.getMetadata().getGeneration())
        .withReplicas(total).withUpdatedReplicas(updated).withReadyReplicas(ready).withAvailableReplicas(ready)
        .withUnavailableReplicas(Math.max(0, replicas - ready)).withConditions(availableCondition).build();
    DeploymentStatus before = d.getStatus();
    if (before != null && before.getConditions() != null) {
      for (DeploymentCondition c : before.getConditions()) {
        if (c.getType().equals("Available") && c.getStatus().equals(availableCondition.getStatus())) {
          availableCondition.setLastTransitionTime(c.getLastTransitionTime());
          availableCondition.setLastUpdateTime(c.getLastUpdateTime());
        }
      }
    }
    if (availableCondition.getLastTransitionTime() == null) {
      String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
      availableCondition.setLastTransitionTime(now);
      availableCondition.setLastUpdateTime(now);
    }
    if (status.equals(before)) {
      return;
    }
    client.apps().deployments().inNamespace(d.getMetadata().getNamespace()).withName(d.getMetadata().getName())
        .editStatus(x -> {
          x.setStatus(status);
          return x;
        });
  }

  static boolean ready(Pod p) {
    return p.getStatus() != null && p.getStatus().getConditions() != null && p.getStatus().getConditions().stream()
        .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()))
        && p.getMetadata().getDeletionTimestamp() == null;
  }

  private static Comparator<Pod> byAge() {
    return Comparator.comparing((Pod p) -> p.getMetadata().getCreationTimestamp() == null ? "" : p.getMetadata().getCreationTimestamp())
        .thenComparing(p -> p.getMetadata().getName());
  }

  private static String label(Pod p, String key) {
    return p.getMetadata().getLabels() == null ? null : p.getMetadata().getLabels().get(key);
  }

  /** A short hash of the pod template, like the ReplicaSet's pod-template-hash: a new template makes new pods. */
  static String templateHash(Deployment d) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(JSON.writeValueAsString(d.getSpec().getTemplate())
          .getBytes(StandardCharsets.UTF_8));
      StringBuilder out = new StringBuilder();
      for (int i = 0; i < 10; i++) {
        out.append(ALPHABET.charAt((digest[i] & 0xff) % ALPHABET.length()));
      }
      return out.toString();
    } catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String suffix() {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 5; i++) {
      s.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
    }
    return s.toString();
  }
}
