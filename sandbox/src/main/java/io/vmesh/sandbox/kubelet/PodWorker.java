package io.vmesh.sandbox.kubelet;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.LifecycleHandler;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.vmesh.sandbox.topology.RunAs;
import io.vmesh.sandbox.topology.SandboxException;
import io.vmesh.sandbox.topology.SystemCommand;
import io.vmesh.sandbox.topology.Topology;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one pod the way the kubelet does: its network namespace, init containers in order to completion, native
 * sidecars (init containers with {@code restartPolicy: Always}) started and awaited through their startup probe,
 * then the containers in order, each {@code postStart} hook holding the next one; restarts by the pod's
 * restartPolicy with back-off; startup, readiness and liveness probes; on stop, {@code preStop} hooks, SIGTERM,
 * the grace period and SIGKILL — application containers first, then sidecars in reverse order. Every change is
 * written to the pod's status subresource. Each pod has its own thread, which alone touches its containers.
 */
final class PodWorker implements Runnable {

  private static final Logger LOG = LoggerFactory.getLogger(PodWorker.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TICK = Duration.ofMillis(200);
  private static final Duration HOOK_TIMEOUT = Duration.ofSeconds(120);
  /** How often configMap volumes are brought up to date (the kubelet's sync period is a minute; shorter runs here). */
  private static final Duration VOLUME_REFRESH = Duration.ofSeconds(5);

  private final Pod pod;
  private final KubernetesClient client;
  private final Topology topology;
  private final ImageTable images;
  private final PodNetwork network;
  private final Path logDir;
  private final String nodeName;
  private final List<ContainerRuntime> inits = new ArrayList<>();
  private final List<ContainerRuntime> apps = new ArrayList<>();
  private final Map<String, Instant> conditionSince = new HashMap<>();
  private final Map<String, Boolean> conditionValue = new HashMap<>();
  private volatile boolean stopping;
  private volatile boolean finished;
  private io.vmesh.sandbox.topology.Pod netns;
  private String phase = "Pending";
  private String podReason;
  private String podMessage;
  private boolean initialized;
  private Instant startTime;
  private String lastWritten;
  private Map<String, Path> volumes = Map.of();
  private Instant nextVolumeRefresh = Instant.MAX;

  PodWorker(Pod pod, KubernetesClient client, Topology topology, ImageTable images, PodNetwork network, Path logDir,
      String nodeName) {
    this.pod = pod;
    this.client = client;
    this.topology = topology;
    this.images = images;
    this.network = network;
    this.logDir = logDir;
    this.nodeName = nodeName;
    if (pod.getSpec().getInitContainers() != null) {
      for (Container c : pod.getSpec().getInitContainers()) {
        inits.add(new ContainerRuntime(c, "Always".equals(c.getRestartPolicy()) ? ContainerRuntime.Kind.SIDECAR : ContainerRuntime.Kind.INIT));
      }
    }
    for (Container c : pod.getSpec().getContainers()) {
      apps.add(new ContainerRuntime(c, ContainerRuntime.Kind.APP));
    }
  }

  String key() {
    return pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
  }

  /** Asks the pod to terminate (it was deleted); the worker's thread does it. */
  void stop() {
    stopping = true;
  }

  boolean finished() {
    return finished;
  }

  @Override
  public void run() {
    try {
      startTime = Instant.now();
      // dual-stack like a dual-stack cluster's pods: IPv4 first (podIP), fd88::<n> second (podIPs)
      netns = topology.addDualStackPod(PodNetwork.netnsName(pod, topology));
      Files.createDirectories(logDir);
      network.podAdded(netns, pod);
      LOG.info("pod {}: network namespace {} with IPs {} and {}", key(), netns.netns(), netns.ip(), netns.ip6());
      volumes = new HashMap<>(ServiceAccountTokens.project(pod, client, logDir));
      publish();
      awaitConfigMaps();
      volumes.putAll(ConfigMapVolumes.refresh(pod, client, logDir));
      nextVolumeRefresh = Instant.now().plus(VOLUME_REFRESH);
      runInitContainers();
      if (!stopping && !"Failed".equals(phase)) {
        initialized = true;
        startContainers();
        waitUntil(this::appsDone);
        if (!stopping) {
          boolean ok = apps.stream().allMatch(c -> c.lastExitCode != null && c.lastExitCode == 0);
          phase = ok ? "Succeeded" : "Failed";
        }
      }
    } catch (RuntimeException | IOException e) {
      LOG.warn("pod {} failed: {}", key(), e.toString());
      phase = "Failed";
      podReason = "SandboxError";
      podMessage = e.getMessage();
    } finally {
      terminate();
      if (netns != null) {
        network.podRemoved(netns);
        topology.removePod(netns);
      }
      publish();
      finished = true;
      LOG.info("pod {} ended ({})", key(), stopping ? "deleted" : phase);
    }
  }

  /** Containers wait for their configMap volumes, as behind the kubelet's FailedMount. */
  private void awaitConfigMaps() {
    String said = null;
    while (!stopping) {
      Optional<String> missing;
      try {
        missing = ConfigMapVolumes.missing(pod, client);
      } catch (KubernetesClientException e) {
        missing = Optional.of("configMap volumes not checked: " + e.getMessage());
      }
      if (missing.isEmpty()) {
        return;
      }
      if (!missing.get().equals(said)) {
        LOG.info("pod {}: {}; waiting", key(), missing.get());
        said = missing.get();
      }
      sleep(1000);
    }
  }

  private void runInitContainers() {
    for (ContainerRuntime c : inits) {
      if (stopping || "Failed".equals(phase)) {
        return;
      }
      start(c);
      if (c.kind == ContainerRuntime.Kind.SIDECAR) {
        waitUntil(() -> c.started);
      } else {
        waitUntil(() -> c.done || "Failed".equals(phase));
      }
    }
  }

  private void startContainers() {
    for (ContainerRuntime c : apps) {
      if (stopping) {
        return;
      }
      start(c);
      runPostStart(c);
    }
  }

  /** Ticks (restarts, probes, status) until {@code condition} holds or the pod is being stopped. */
  private void waitUntil(BooleanSupplier condition) {
    while (!stopping && !condition.getAsBoolean()) {
      tick();
      sleep(TICK.toMillis());
    }
  }

  private boolean appsDone() {
    return apps.stream().allMatch(c -> c.done);
  }

  private void tick() {
    Instant now = Instant.now();
    if (!now.isBefore(nextVolumeRefresh)) {
      ConfigMapVolumes.refresh(pod, client, logDir);
      nextVolumeRefresh = now.plus(VOLUME_REFRESH);
    }
    for (ContainerRuntime c : all()) {
      if (c.process != null && !c.process.isAlive()) {
        exited(c, c.process.exitValue());
      } else if (c.running()) {
        probe(c, now);
      }
      if (!c.running() && !c.done && c.nextStart != null && !now.isBefore(c.nextStart) && mayStart(c)) {
        start(c);
      }
    }
    publish();
  }

  /** An app container is restarted only once the pod is initialized; an init container only before that. */
  private boolean mayStart(ContainerRuntime c) {
    return c.kind != ContainerRuntime.Kind.APP || initialized;
  }

  private List<ContainerRuntime> all() {
    List<ContainerRuntime> all = new ArrayList<>(inits);
    all.addAll(apps);
    return all;
  }

  private void start(ContainerRuntime c) {
    c.nextStart = null;
    Optional<ImageTable.Image> image = images.find(c.spec.getImage());
    if (image.isEmpty()) {
      c.pullAttempts++;
      c.waitingReason = c.pullAttempts == 1 ? "ErrImagePull" : "ImagePullBackOff";
      c.waitingMessage = "image \"" + c.spec.getImage() + "\" is not in the sandbox's image table (it knows "
          + String.join(", ", images.repositories()) + ")";
      c.nextStart = Instant.now().plusSeconds(Math.min(20, 2L * c.pullAttempts));
      LOG.warn("pod {} container {}: {}", key(), c.name(), c.waitingMessage);
      publish();
      return;
    }
    List<String> line;
    List<String> full;
    Map<String, String> env;
    RunAs runAs;
    try {
      env = ContainerEnv.of(pod, c.spec, netns.ip(), Topology.GATEWAY, client);
      runAs = runAs(c.spec);
      line = ImageTable.commandLine(image.get(), ContainerEnv.expandAll(c.spec.getCommand(), env),
          ContainerEnv.expandAll(c.spec.getArgs(), env));
      List<String> asUser = new ArrayList<>(runAs.switchCommand());
      asUser.addAll(line);
      // mounts need root: they happen first, then the switch to the container's uid
      full = netns.commandLine(RunAs.ROOT, VolumeMounts.wrap(c.spec, volumes, asUser));
    } catch (RuntimeException | IOException e) {
      c.waitingReason = "CreateContainerConfigError";
      c.waitingMessage = e.getMessage();
      c.nextStart = Instant.now().plusSeconds(5);
      LOG.warn("pod {} container {}: {}", key(), c.name(), e.getMessage());
      publish();
      return;
    }
    try {
      Path log = logDir.resolve(c.name() + ".log");
      ProcessBuilder b = new ProcessBuilder(full)
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      b.environment().clear();
      b.environment().putAll(env);
      c.process = b.start();
    } catch (IOException e) {
      c.waitingReason = "RunContainerError";
      c.waitingMessage = e.getMessage();
      c.nextStart = Instant.now().plusMillis(c.backoffMillis());
      return;
    }
    Instant now = Instant.now();
    c.startedAt = now;
    c.waitingReason = null;
    c.waitingMessage = null;
    c.started = c.spec.getStartupProbe() == null;
    c.ready = false;
    c.readySuccesses = 0;
    c.readyFailures = 0;
    c.startupFailures = 0;
    c.livenessFailures = 0;
    c.nextStartupProbe = now.plusSeconds(delay(c.spec.getStartupProbe()));
    c.nextReadinessProbe = now.plusSeconds(delay(c.spec.getReadinessProbe()));
    c.nextLivenessProbe = now.plusSeconds(delay(c.spec.getLivenessProbe()));
    LOG.info("pod {} container {} started as uid {} gid {}: {}", key(), c.name(), runAs.uid(), runAs.gid(), String.join(" ", line));
    publish();
  }

  private static long delay(Probe p) {
    return p == null || p.getInitialDelaySeconds() == null ? 0 : p.getInitialDelaySeconds();
  }

  private void exited(ContainerRuntime c, int code) {
    c.process = null;
    c.lastExitCode = code;
    c.lastReason = code == 0 ? "Completed" : "Error";
    c.lastStartedAt = c.startedAt;
    c.finishedAt = Instant.now();
    c.started = false;
    c.ready = false;
    String restartPolicy = pod.getSpec().getRestartPolicy() == null ? "Always" : pod.getSpec().getRestartPolicy();
    boolean restart = switch (c.kind) {
      case SIDECAR -> true;
      case INIT -> code != 0 && !restartPolicy.equals("Never");
      case APP -> restartPolicy.equals("Always") || (restartPolicy.equals("OnFailure") && code != 0);
    };
    LOG.info("pod {} container {} exited with {}{}", key(), c.name(), code, restart ? "; restarting" : "");
    if (stopping) {
      return;
    }
    if (c.kind == ContainerRuntime.Kind.INIT && code == 0) {
      c.done = true;
    } else if (restart) {
      c.waitingReason = "CrashLoopBackOff";
      c.waitingMessage = "back-off " + c.backoffMillis() / 1000 + "s restarting failed container=" + c.name() + " pod=" + key();
      c.nextStart = Instant.now().plusMillis(c.backoffMillis());
      c.restarts++;
    } else {
      c.done = true;
      if (c.kind == ContainerRuntime.Kind.INIT) {
        phase = "Failed";
        podReason = "InitContainerFailed";
        podMessage = "init container " + c.name() + " exited with " + code;
      }
    }
    publish();
  }

  private void probe(ContainerRuntime c, Instant now) {
    Probe startup = c.spec.getStartupProbe();
    if (!c.started && startup != null) {
      if (!now.isBefore(c.nextStartupProbe)) {
        c.nextStartupProbe = now.plusSeconds(period(startup));
        if (check(startup, c)) {
          c.started = true;
          c.nextReadinessProbe = Instant.now();
        } else if (++c.startupFailures >= threshold(startup.getFailureThreshold())) {
          kill(c, "startup probe failed " + c.startupFailures + " times");
        }
      }
      return;
    }
    c.started = true;
    Probe readiness = c.spec.getReadinessProbe();
    if (readiness == null) {
      c.ready = c.kind != ContainerRuntime.Kind.INIT;
    } else if (!now.isBefore(c.nextReadinessProbe)) {
      c.nextReadinessProbe = now.plusSeconds(period(readiness));
      if (check(readiness, c)) {
        c.readyFailures = 0;
        if (++c.readySuccesses >= successThreshold(readiness)) {
          c.ready = true;
        }
      } else {
        c.readySuccesses = 0;
        if (++c.readyFailures >= threshold(readiness.getFailureThreshold())) {
          c.ready = false;
        }
      }
    }
    Probe liveness = c.spec.getLivenessProbe();
    if (liveness != null && !now.isBefore(c.nextLivenessProbe)) {
      c.nextLivenessProbe = now.plusSeconds(period(liveness));
      if (check(liveness, c)) {
        c.livenessFailures = 0;
      } else if (++c.livenessFailures >= threshold(liveness.getFailureThreshold())) {
        kill(c, "liveness probe failed " + c.livenessFailures + " times");
      }
    }
  }

  private static long period(Probe p) {
    return p.getPeriodSeconds() == null ? 10 : Math.max(1, p.getPeriodSeconds());
  }

  /** failureThreshold: Kubernetes' default is 3. */
  private static int threshold(Integer t) {
    return t == null ? 3 : Math.max(1, t);
  }

  /** successThreshold: Kubernetes' default is 1 (with a 15 s period, 3 would hold a sidecar unready for 30 s). */
  private static int successThreshold(Probe p) {
    return p.getSuccessThreshold() == null ? 1 : Math.max(1, p.getSuccessThreshold());
  }

  private boolean check(Probe probe, ContainerRuntime c) {
    try {
      return Probes.check(probe, c.spec, netns.ip(), command -> exec(c, command, Duration.ofSeconds(
          probe.getTimeoutSeconds() == null ? 1 : probe.getTimeoutSeconds())));
    } catch (RuntimeException e) {
      LOG.debug("pod {} container {}: probe error {}", key(), c.name(), e.toString());
      return false;
    }
  }

  /** A command in the container: its image's programs, its uid/gid and its environment. */
  private int exec(ContainerRuntime c, List<String> command, Duration timeout) {
    ImageTable.Image image = images.find(c.spec.getImage()).orElseThrow();
    Map<String, String> env = ContainerEnv.of(pod, c.spec, netns.ip(), Topology.GATEWAY, client);
    try {
      SystemCommand.Result r = netns.run(runAs(c.spec), env, timeout, ImageTable.expandProgram(image, command));
      if (!r.ok()) {
        LOG.info("pod {} container {}: {} exited with {}: {}", key(), c.name(), command, r.exitCode(), (r.stdout() + r.stderr()).strip());
      }
      return r.exitCode();
    } catch (SandboxException e) {
      LOG.info("pod {} container {}: {}", key(), c.name(), e.getMessage());
      return -1;
    }
  }

  private void kill(ContainerRuntime c, String why) {
    LOG.info("pod {} container {}: {}; killing it", key(), c.name(), why);
    if (c.process != null) {
      c.process.descendants().forEach(ProcessHandle::destroyForcibly);
      c.process.destroyForcibly();
    }
  }

  /** postStart runs right after the container starts, and the next container waits for it (as in the kubelet). */
  private void runPostStart(ContainerRuntime c) {
    LifecycleHandler hook = c.spec.getLifecycle() == null ? null : c.spec.getLifecycle().getPostStart();
    if (hook == null || !c.running()) {
      return;
    }
    if (!runHook(c, hook, "postStart")) {
      kill(c, "FailedPostStartHook");
    }
  }

  private boolean runHook(ContainerRuntime c, LifecycleHandler hook, String what) {
    try {
      if (hook.getSleep() != null) {
        sleep(hook.getSleep().getSeconds() * 1000L);
        return true;
      }
      if (hook.getExec() != null) {
        return exec(c, hook.getExec().getCommand(), HOOK_TIMEOUT) == 0;
      }
      if (hook.getHttpGet() != null) {
        return Probes.httpGet(hook.getHttpGet(), c.spec, netns.ip(), Duration.ofSeconds(10));
      }
      if (hook.getTcpSocket() != null) {
        return Probes.tcp(Probes.host(hook.getTcpSocket().getHost(), netns.ip()), Probes.port(hook.getTcpSocket().getPort(), c.spec),
            Duration.ofSeconds(10));
      }
    } catch (RuntimeException e) {
      LOG.info("pod {} container {}: {} hook failed: {}", key(), c.name(), what, e.toString());
    }
    return false;
  }

  /** preStop hooks, SIGTERM, the grace period, SIGKILL: application containers first, then sidecars in reverse order. */
  private void terminate() {
    long grace = pod.getSpec().getTerminationGracePeriodSeconds() == null ? 30 : pod.getSpec().getTerminationGracePeriodSeconds();
    Instant deadline = Instant.now().plusSeconds(Math.min(30, grace));
    stopAll(apps, deadline);
    List<ContainerRuntime> sidecars = new ArrayList<>(inits);
    java.util.Collections.reverse(sidecars);
    for (ContainerRuntime s : sidecars) {
      stopAll(List.of(s), deadline);
    }
  }

  private void stopAll(List<ContainerRuntime> containers, Instant deadline) {
    List<Thread> stoppers = new ArrayList<>();
    for (ContainerRuntime c : containers) {
      if (!c.running()) {
        continue;
      }
      Thread t = new Thread(() -> {
        LifecycleHandler preStop = c.spec.getLifecycle() == null ? null : c.spec.getLifecycle().getPreStop();
        if (preStop != null && stopping) {
          runHook(c, preStop, "preStop");
        }
        Process p = c.process;
        if (p == null) {
          return;
        }
        p.destroy();
        try {
          long left = Math.max(100, Duration.between(Instant.now(), deadline).toMillis());
          if (!p.waitFor(left, TimeUnit.MILLISECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          p.destroyForcibly();
        }
      }, "stop-" + c.name());
      t.start();
      stoppers.add(t);
    }
    for (Thread t : stoppers) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (ContainerRuntime c : containers) {
      if (c.process != null) {
        c.lastExitCode = c.process.isAlive() ? 137 : c.process.exitValue();
        c.lastReason = c.lastExitCode == 0 ? "Completed" : "Error";
        c.lastStartedAt = c.startedAt;
        c.finishedAt = Instant.now();
        c.process = null;
        c.ready = false;
      }
    }
  }

  /** The uid/gid a container runs as: its securityContext, else the pod's; gid 0 when only a uid is given. */
  private RunAs runAs(Container c) {
    SecurityContext sc = c.getSecurityContext();
    PodSecurityContext psc = pod.getSpec().getSecurityContext();
    Long uid = sc != null && sc.getRunAsUser() != null ? sc.getRunAsUser() : psc != null ? psc.getRunAsUser() : null;
    Long gid = sc != null && sc.getRunAsGroup() != null ? sc.getRunAsGroup() : psc != null ? psc.getRunAsGroup() : null;
    Boolean nonRoot = sc != null && sc.getRunAsNonRoot() != null ? sc.getRunAsNonRoot() : psc != null ? psc.getRunAsNonRoot() : null;
    long u = uid == null ? 0 : uid;
    if (Boolean.TRUE.equals(nonRoot) && u == 0) {
      throw new IllegalStateException("container has runAsNonRoot and image will run as root (container " + c.getName() + ")");
    }
    return new RunAs((int) u, gid == null ? 0 : gid.intValue());
  }

  /** Writes the pod's status when it changed since the last write. */
  private void publish() {
    PodStatus status = status();
    String json;
    try {
      json = JSON.writeValueAsString(status);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    if (json.equals(lastWritten)) {
      return;
    }
    try {
      client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName()).editStatus(p -> {
        p.setStatus(status);
        return p;
      });
      lastWritten = json;
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        LOG.debug("pod {}: status not written: {}", key(), e.getMessage());
      }
    }
  }

  private PodStatus status() {
    boolean appsReady = apps.stream().allMatch(c -> c.ready);
    boolean sidecarsReady = inits.stream().filter(c -> c.kind == ContainerRuntime.Kind.SIDECAR).allMatch(c -> c.ready);
    boolean containersReady = initialized && appsReady && sidecarsReady && !stopping;
    String currentPhase = phase;
    if (currentPhase.equals("Pending") && initialized && apps.stream().anyMatch(c -> c.running() || c.done)) {
      currentPhase = "Running";
    }
    List<PodCondition> conditions = new ArrayList<>();
    conditions.add(condition("PodReadyToStartContainers", netns != null));
    conditions.add(condition("Initialized", initialized));
    conditions.add(condition("ContainersReady", containersReady && currentPhase.equals("Running")));
    conditions.add(condition("Ready", containersReady && currentPhase.equals("Running")));
    conditions.add(condition("PodScheduled", true));
    PodStatusBuilder b = new PodStatusBuilder()
        .withPhase(currentPhase)
        .withConditions(conditions)
        .withHostIP(Topology.GATEWAY)
        .withStartTime(startTime == null ? null : time(startTime))
        .withQosClass("BestEffort")
        .withInitContainerStatuses(inits.stream().map(this::containerStatus).toList())
        .withContainerStatuses(apps.stream().map(this::containerStatus).toList());
    if (netns != null) {
      b.withPodIP(netns.ip()).withPodIPs(new PodIP(netns.ip()), new PodIP(netns.ip6()));
    }
    if (podReason != null) {
      b.withReason(podReason).withMessage(podMessage);
    }
    return b.build();
  }

  private PodCondition condition(String type, boolean value) {
    Boolean before = conditionValue.put(type, value);
    if (before == null || before != value) {
      conditionSince.put(type, Instant.now());
    }
    return new PodConditionBuilder().withType(type).withStatus(value ? "True" : "False")
        .withLastTransitionTime(time(conditionSince.get(type))).build();
  }

  private ContainerStatus containerStatus(ContainerRuntime c) {
    ContainerState state;
    if (c.running()) {
      state = new ContainerStateBuilder().withNewRunning().withStartedAt(time(c.startedAt)).endRunning().build();
    } else if (c.done && c.lastExitCode != null) {
      state = terminated(c);
    } else if (c.lastExitCode != null && c.waitingReason == null) {
      state = terminated(c);
    } else {
      state = new ContainerStateBuilder().withNewWaiting().withReason(c.waitingReason == null ? "ContainerCreating" : c.waitingReason)
          .withMessage(c.waitingMessage).endWaiting().build();
    }
    ContainerStatusBuilder b = new ContainerStatusBuilder()
        .withName(c.name())
        .withImage(c.spec.getImage())
        .withImageID("")
        .withReady(c.ready)
        .withStarted(c.running() && c.started)
        .withRestartCount(c.restarts)
        .withState(state);
    if (c.lastExitCode != null && !c.done) {
      b.withLastState(terminated(c));
    }
    return b.build();
  }

  private static ContainerState terminated(ContainerRuntime c) {
    return new ContainerStateBuilder().withNewTerminated().withExitCode(c.lastExitCode).withReason(c.lastReason)
        .withStartedAt(c.lastStartedAt == null ? null : time(c.lastStartedAt))
        .withFinishedAt(c.finishedAt == null ? null : time(c.finishedAt)).endTerminated().build();
  }

  private static String time(Instant i) {
    return i.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
