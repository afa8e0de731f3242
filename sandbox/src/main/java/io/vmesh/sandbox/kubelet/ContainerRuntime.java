package io.vmesh.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.Container;
import java.time.Instant;

/** What the kubelet knows of one container of a pod: its process, restarts, probe results and last exit. */
final class ContainerRuntime {

  enum Kind { INIT, SIDECAR, APP }

  final Container spec;
  final Kind kind;

  Process process;
  Instant startedAt;
  int restarts;
  /** Set while the container does not run: why (ContainerCreating, ErrImagePull, CrashLoopBackOff, ...). */
  String waitingReason = "PodInitializing";
  String waitingMessage;
  Integer lastExitCode;
  String lastReason;
  Instant lastStartedAt;
  Instant finishedAt;
  /** An init container that completed, or an app container that will not be restarted. */
  boolean done;
  boolean started;
  boolean ready;
  int readySuccesses;
  int readyFailures;
  int startupFailures;
  int livenessFailures;
  Instant nextStartupProbe;
  Instant nextReadinessProbe;
  Instant nextLivenessProbe;
  Instant nextStart;
  int pullAttempts;

  ContainerRuntime(Container spec, Kind kind) {
    this.spec = spec;
    this.kind = kind;
  }

  String name() {
    return spec.getName();
  }

  boolean running() {
    return process != null && process.isAlive();
  }

  /** The next restart's delay: 1 s doubling to 20 s (the kubelet's is 10 s to 5 min; a sandbox should recover fast). */
  long backoffMillis() {
    return Math.min(20_000L, 1000L << Math.min(restarts, 5));
  }
}
