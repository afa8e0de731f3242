package io.vmesh.sandbox.controllers;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobCondition;
import io.fabric8.kubernetes.api.model.batch.v1.JobConditionBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatus;
import io.fabric8.kubernetes.api.model.batch.v1.JobStatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Jobs → Pods, like Kubernetes' Job controller for NonIndexed Jobs: up to {@code parallelism} pods at a time
 * ({@code generateName: <job>-}, the template's labels, owned by the Job) until {@code completions} of them succeeded;
 * a failed pod is replaced after a back-off until more than {@code backoffLimit} pods failed (with restartPolicy
 * OnFailure the containers' restarts count instead), or {@code activeDeadlineSeconds} passed, and the Job fails.
 * It writes {@code active/ready/succeeded/failed/terminating}, {@code startTime}, {@code completionTime} and the
 * {@code SuccessCriteriaMet}/{@code Complete} or {@code FailureTarget}/{@code Failed} conditions ({@code Suspended}
 * while {@code suspend} is true), deletes a finished Job {@code ttlSecondsAfterFinished} after it finished, and the
 * pods of deleted Jobs (the garbage collector's part).
 */
public final class JobController {

  private static final Logger LOG = LoggerFactory.getLogger(JobController.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client;
  private final Clock clock;
  /** Pods counted as succeeded or failed, per Job uid: they stay counted when the pod is deleted afterwards. */
  private final Map<String, Set<String>> succeededPods = new HashMap<>();
  private final Map<String, Set<String>> failedPods = new HashMap<>();
  private final Ownership pods;

  public JobController(KubernetesClient client, Clock clock) {
    this.client = client;
    this.clock = clock;
    this.pods = new Ownership(client, "Job", "vmesh-sandbox-job-controller");
  }

  public void sync() {
    List<Job> jobs = client.batch().v1().jobs().inAnyNamespace().list().getItems();
    pods.sync(jobs, this::reconcile);
    Set<String> uids = new HashSet<>();
    jobs.forEach(j -> uids.add(j.getMetadata().getUid()));
    succeededPods.keySet().retainAll(uids);
    failedPods.keySet().retainAll(uids);
  }

  private void reconcile(Job job, List<Pod> owned) {
    JobSpec spec = job.getSpec();
    if (spec.getSelector() == null || spec.getTemplate() == null) {
      return; // the API server writes the selector right after the create
    }
    String uid = job.getMetadata().getUid();
    Instant now = clock.instant();
    if (finishedAt(job) != null) {
      expire(job, now);
      return;
    }
    Set<String> succeeded = succeededPods.computeIfAbsent(uid, u -> new HashSet<>());
    Set<String> failed = failedPods.computeIfAbsent(uid, u -> new HashSet<>());
    List<Pod> active = new ArrayList<>();
    int ready = 0;
    int terminating = 0;
    int restarts = 0;
    Instant lastFailure = null;
    for (Pod p : owned) {
      String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
      if ("Succeeded".equals(phase)) {
        succeeded.add(p.getMetadata().getUid());
      } else if ("Failed".equals(phase)) {
        failed.add(p.getMetadata().getUid());
        lastFailure = latest(lastFailure, finishedAt(p));
      } else if (p.getMetadata().getDeletionTimestamp() != null) {
        terminating++;
      } else {
        active.add(p);
        ready += DeploymentController.ready(p) ? 1 : 0;
        restarts += restarts(p);
      }
    }
    Instant started = job.getStatus() == null || job.getStatus().getStartTime() == null ? null : Instant.parse(job.getStatus().getStartTime());
    if (started == null && !Boolean.TRUE.equals(spec.getSuspend())) {
      started = now;
    }
    Plan plan = plan(new Spec(spec.getCompletions(), value(spec.getParallelism(), 1), value(spec.getBackoffLimit(), 6),
            "OnFailure".equals(spec.getTemplate().getSpec().getRestartPolicy()), Boolean.TRUE.equals(spec.getSuspend()),
            spec.getActiveDeadlineSeconds()),
        new Counts(active.size(), succeeded.size(), failed.size(), restarts), started, lastFailure, now);

    active.sort(Comparator.comparing((Pod p) -> p.getMetadata().getCreationTimestamp() == null ? "" : p.getMetadata().getCreationTimestamp())
        .thenComparing(p -> p.getMetadata().getName()));
    for (Pod p : active.subList(Math.max(0, active.size() - plan.delete()), active.size())) {
      LOG.info("job {}/{}: deleting pod {} ({})", job.getMetadata().getNamespace(), job.getMetadata().getName(), p.getMetadata().getName(),
          plan.outcome() == Outcome.RUNNING ? "more active pods than needed" : plan.reason());
      client.pods().inNamespace(p.getMetadata().getNamespace()).withName(p.getMetadata().getName()).delete();
    }
    int created = 0;
    for (int i = 0; i < plan.create() && create(job); i++) {
      created++;
    }
    writeStatus(job, plan, new Counts(active.size() - plan.delete() + created, succeeded.size(), failed.size(), restarts),
        ready, terminating + plan.delete(), started, now);
  }

  /** What a Job needs from its spec for the counting. {@code completions} null is a work queue. */
  record Spec(Integer completions, int parallelism, int backoffLimit, boolean onFailure, boolean suspend, Long activeDeadlineSeconds) {
  }

  /** Active pods, pods counted as succeeded and as failed, and container restarts in active pods (for OnFailure). */
  record Counts(int active, int succeeded, int failed, int restarts) {
  }

  enum Outcome { RUNNING, SUSPENDED, COMPLETE, FAILED }

  /**
   * What to do now: pods to create and active pods to delete (newest first), the outcome and, when it ends, why.
   * {@code nextCreate} is when a replacement may be made after the last failure.
   */
  record Plan(Outcome outcome, int create, int delete, String reason, String message, Instant nextCreate) {
  }

  /** The Job controller's decision for a NonIndexed Job, from the counts alone. */
  static Plan plan(Spec spec, Counts counts, Instant started, Instant lastFailure, Instant now) {
    boolean pastBackoff = counts.failed() > spec.backoffLimit()
        || (spec.onFailure() && (spec.backoffLimit() == 0 ? counts.restarts() > 0 : counts.restarts() >= spec.backoffLimit()));
    if (pastBackoff) {
      return new Plan(Outcome.FAILED, 0, counts.active(), "BackoffLimitExceeded", "Job has reached the specified backoff limit", null);
    }
    if (spec.activeDeadlineSeconds() != null && started != null && !now.isBefore(started.plusSeconds(spec.activeDeadlineSeconds()))) {
      return new Plan(Outcome.FAILED, 0, counts.active(), "DeadlineExceeded", "Job was active longer than specified deadline", null);
    }
    boolean complete = spec.completions() == null
        ? counts.succeeded() > 0 && counts.active() == 0
        : counts.succeeded() >= spec.completions();
    if (complete) {
      return new Plan(Outcome.COMPLETE, 0, counts.active(), "CompletionsReached", "Reached expected number of succeeded pods", null);
    }
    if (spec.suspend()) {
      return new Plan(Outcome.SUSPENDED, 0, counts.active(), "JobSuspended", "Job suspended", null);
    }
    int wanted;
    if (spec.completions() == null) {
      // a work queue: once one pod succeeded the work is done; the others finish, no new ones start
      wanted = counts.succeeded() > 0 ? Math.min(counts.active(), spec.parallelism()) : spec.parallelism();
    } else {
      wanted = Math.min(spec.parallelism(), spec.completions() - counts.succeeded());
    }
    int create = Math.max(0, wanted - counts.active());
    int delete = Math.max(0, counts.active() - wanted);
    Instant nextCreate = lastFailure == null || counts.failed() == 0 ? now : lastFailure.plus(backoff(counts.failed()));
    if (create > 0 && now.isBefore(nextCreate)) {
      create = 0;
    }
    return new Plan(Outcome.RUNNING, create, delete, null, null, nextCreate);
  }

  /**
   * The delay before replacing a failed pod: 1 s doubling per failure, at most 20 s (Kubernetes waits 10 s doubling to
   * 6 min; a sandbox should show a failing Job fail within a minute).
   */
  static Duration backoff(int failures) {
    return Duration.ofMillis(Math.min(20_000L, 1000L << Math.min(Math.max(0, failures - 1), 5)));
  }

  private boolean create(Job job) {
    Pod made = pods.create(job, job.getSpec().getTemplate(), null, job.getMetadata().getName() + "-", Map.of());
    if (made != null) {
      pods.event(job, "Normal", "SuccessfulCreate", "Created pod: " + made.getMetadata().getName());
    }
    return made != null;
  }

  private void writeStatus(Job job, Plan plan, Counts counts, int ready, int terminating, Instant started, Instant now) {
    JobStatus before = job.getStatus() == null ? new JobStatus() : job.getStatus();
    // copies: the stored status must stay as it was, to compare with
    List<JobCondition> conditions = new ArrayList<>(before.getConditions() == null ? List.of()
        : before.getConditions().stream().map(c -> new JobConditionBuilder(c).build()).toList());
    String completionTime = before.getCompletionTime();
    switch (plan.outcome()) {
      case COMPLETE -> {
        setCondition(conditions, "SuccessCriteriaMet", true, plan.reason(), plan.message(), now);
        setCondition(conditions, "Complete", true, plan.reason(), plan.message(), now);
        completionTime = time(now);
      }
      case FAILED -> {
        setCondition(conditions, "FailureTarget", true, plan.reason(), plan.message(), now);
        setCondition(conditions, "Failed", true, plan.reason(), plan.message(), now);
      }
      case SUSPENDED -> setCondition(conditions, "Suspended", true, plan.reason(), plan.message(), now);
      case RUNNING -> {
        if (conditions.stream().anyMatch(c -> c.getType().equals("Suspended") && c.getStatus().equals("True"))) {
          setCondition(conditions, "Suspended", false, "JobResumed", "Job resumed", now);
        }
      }
    }
    JobStatus status = new JobStatusBuilder()
        .withActive(plan.outcome() == Outcome.RUNNING ? counts.active() : 0)
        .withReady(plan.outcome() == Outcome.RUNNING ? ready : 0)
        .withSucceeded(counts.succeeded())
        .withFailed(counts.failed())
        // a finished Job is not looked at again: a count of pods still terminating would stay forever
        .withTerminating(plan.outcome() == Outcome.RUNNING || plan.outcome() == Outcome.SUSPENDED ? terminating : 0)
        .withStartTime(started == null ? null : time(started))
        .withCompletionTime(completionTime)
        .withNewUncountedTerminatedPods().endUncountedTerminatedPods()
        .withConditions(conditions.isEmpty() ? null : conditions)
        .build();
    if (same(status, job.getStatus())) {
      return;
    }
    client.batch().v1().jobs().inNamespace(job.getMetadata().getNamespace()).withName(job.getMetadata().getName())
        .editStatus(j -> {
          j.setStatus(status);
          return j;
        });
    if (plan.outcome() == Outcome.COMPLETE || plan.outcome() == Outcome.FAILED) {
      LOG.info("job {}/{}: {} ({}): {} succeeded, {} failed", job.getMetadata().getNamespace(), job.getMetadata().getName(),
          plan.outcome() == Outcome.COMPLETE ? "Complete" : "Failed", plan.reason(), counts.succeeded(), counts.failed());
      pods.event(job, plan.outcome() == Outcome.COMPLETE ? "Normal" : "Warning",
          plan.outcome() == Outcome.COMPLETE ? "Completed" : plan.reason(),
          plan.outcome() == Outcome.COMPLETE ? "Job completed" : plan.message());
    }
  }

  /** Sets a condition, keeping its lastTransitionTime when its status does not change. */
  private static void setCondition(List<JobCondition> conditions, String type, boolean value, String reason, String message, Instant now) {
    String status = value ? "True" : "False";
    for (JobCondition c : conditions) {
      if (c.getType().equals(type)) {
        if (!c.getStatus().equals(status)) {
          c.setLastTransitionTime(time(now));
        }
        c.setStatus(status);
        c.setReason(reason);
        c.setMessage(message);
        return;
      }
    }
    conditions.add(new JobConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
        .withLastProbeTime(time(now)).withLastTransitionTime(time(now)).build());
  }

  /** Deletes a finished Job once {@code ttlSecondsAfterFinished} have passed (its pods follow as orphans). */
  private void expire(Job job, Instant now) {
    Integer ttl = job.getSpec().getTtlSecondsAfterFinished();
    Instant finished = finishedAt(job);
    if (ttl != null && finished != null && !now.isBefore(finished.plusSeconds(ttl))) {
      LOG.info("job {}/{}: finished {} s ago, ttlSecondsAfterFinished {}: deleting it", job.getMetadata().getNamespace(),
          job.getMetadata().getName(), Duration.between(finished, now).toSeconds(), ttl);
      client.batch().v1().jobs().inNamespace(job.getMetadata().getNamespace()).withName(job.getMetadata().getName()).delete();
    }
  }

  /** When a Job finished: its Complete or Failed condition's transition; null while it runs. */
  static Instant finishedAt(Job job) {
    if (job.getStatus() == null || job.getStatus().getConditions() == null) {
      return null;
    }
    return job.getStatus().getConditions().stream()
        .filter(c -> (c.getType().equals("Complete") || c.getType().equals("Failed")) && c.getStatus().equals("True"))
        .map(c -> c.getLastTransitionTime() == null ? Instant.EPOCH : Instant.parse(c.getLastTransitionTime()))
        .findFirst().orElse(null);
  }

  private static Instant finishedAt(Pod p) {
    if (p.getStatus() == null) {
      return null;
    }
    return Stream.concat(statuses(p.getStatus().getInitContainerStatuses()), statuses(p.getStatus().getContainerStatuses()))
        .filter(s -> s.getState() != null && s.getState().getTerminated() != null && s.getState().getTerminated().getFinishedAt() != null)
        .map(s -> Instant.parse(s.getState().getTerminated().getFinishedAt()))
        .max(Comparator.naturalOrder()).orElse(null);
  }

  private static int restarts(Pod p) {
    if (p.getStatus() == null) {
      return 0;
    }
    return Stream.concat(statuses(p.getStatus().getInitContainerStatuses()), statuses(p.getStatus().getContainerStatuses()))
        .mapToInt(s -> s.getRestartCount() == null ? 0 : s.getRestartCount()).sum();
  }

  private static Stream<ContainerStatus> statuses(List<ContainerStatus> list) {
    return list == null ? Stream.empty() : list.stream();
  }

  private static Instant latest(Instant a, Instant b) {
    return a == null ? b : b == null ? a : a.isAfter(b) ? a : b;
  }

  private static int value(Integer i, int otherwise) {
    return i == null ? otherwise : i;
  }

  private static String time(Instant i) {
    return i.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private static boolean same(JobStatus a, JobStatus b) {
    try {
      return b != null && JSON.writeValueAsString(a).equals(JSON.writeValueAsString(b));
    } catch (JsonProcessingException e) {
      return false;
    }
  }
}
