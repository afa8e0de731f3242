package io.vmesh.sandbox.controllers;

import static org.assertj.core.api.Assertions.assertThat;

import io.vmesh.sandbox.controllers.JobController.Counts;
import io.vmesh.sandbox.controllers.JobController.Outcome;
import io.vmesh.sandbox.controllers.JobController.Plan;
import io.vmesh.sandbox.controllers.JobController.Spec;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class JobControllerTest {

  private static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");

  private static Spec spec(Integer completions, int parallelism, int backoffLimit) {
    return new Spec(completions, parallelism, backoffLimit, false, false, null);
  }

  private static Plan plan(Spec spec, int active, int succeeded, int failed) {
    return JobController.plan(spec, new Counts(active, succeeded, failed, 0), NOW, null, NOW);
  }

  @Test
  void startsUpToParallelismButNoMoreThanTheCompletionsLeft() {
    assertThat(plan(spec(1, 1, 6), 0, 0, 0)).extracting(Plan::outcome, Plan::create, Plan::delete).containsExactly(Outcome.RUNNING, 1, 0);
    assertThat(plan(spec(5, 2, 6), 0, 0, 0).create()).isEqualTo(2);
    assertThat(plan(spec(5, 2, 6), 1, 3, 0).create()).as("two completions left, one running").isEqualTo(1);
    assertThat(plan(spec(5, 3, 6), 1, 4, 0).create()).as("one left and it runs").isZero();
    assertThat(plan(spec(5, 3, 6), 3, 3, 0).delete()).as("more running than completions left").isEqualTo(1);
  }

  @Test
  void completeWhenCompletionsSucceeded() {
    Plan done = plan(spec(3, 2, 6), 0, 3, 2);
    assertThat(done.outcome()).isEqualTo(Outcome.COMPLETE);
    assertThat(done.reason()).isEqualTo("CompletionsReached");
    assertThat(done.create()).isZero();
  }

  @Test
  void aWorkQueueCompletesWhenOneSucceededAndTheRestFinished() {
    Spec queue = spec(null, 3, 6);
    assertThat(plan(queue, 0, 0, 0).create()).isEqualTo(3);
    Plan draining = plan(queue, 2, 1, 0);
    assertThat(draining).extracting(Plan::outcome, Plan::create, Plan::delete).containsExactly(Outcome.RUNNING, 0, 0);
    assertThat(plan(queue, 0, 1, 0).outcome()).isEqualTo(Outcome.COMPLETE);
  }

  @Test
  void failedPodsAreReplacedUntilMoreThanBackoffLimitFailed() {
    Spec twice = spec(1, 1, 2);
    assertThat(plan(twice, 0, 0, 2)).extracting(Plan::outcome, Plan::create).containsExactly(Outcome.RUNNING, 1);
    Plan failed = plan(twice, 0, 0, 3);
    assertThat(failed.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(failed.reason()).isEqualTo("BackoffLimitExceeded");
    assertThat(failed.message()).isEqualTo("Job has reached the specified backoff limit");
    assertThat(plan(spec(1, 1, 0), 0, 0, 1).outcome()).as("backoffLimit 0: the first failure fails the Job").isEqualTo(Outcome.FAILED);
  }

  @Test
  void whenItFailsTheActivePodsAreDeleted() {
    assertThat(plan(spec(4, 2, 1), 2, 0, 2)).extracting(Plan::outcome, Plan::create, Plan::delete).containsExactly(Outcome.FAILED, 0, 2);
  }

  @Test
  void aReplacementWaitsForTheBackoffAfterTheLastFailure() {
    Instant failedAt = NOW.minusMillis(1500);
    Plan early = JobController.plan(spec(1, 1, 6), new Counts(0, 0, 2, 0), NOW, failedAt, NOW);
    assertThat(early.create()).as("2 s after the second failure").isZero();
    assertThat(early.nextCreate()).isEqualTo(failedAt.plusSeconds(2));
    Plan later = JobController.plan(spec(1, 1, 6), new Counts(0, 0, 2, 0), NOW, failedAt, NOW.plusSeconds(1));
    assertThat(later.create()).isEqualTo(1);
    assertThat(JobController.backoff(1)).isEqualTo(Duration.ofSeconds(1));
    assertThat(JobController.backoff(3)).isEqualTo(Duration.ofSeconds(4));
    assertThat(JobController.backoff(40)).isEqualTo(Duration.ofSeconds(20));
  }

  @Test
  void withOnFailureTheContainersRestartsCount() {
    Spec onFailure = new Spec(1, 1, 2, true, false, null);
    assertThat(JobController.plan(onFailure, new Counts(1, 0, 0, 1), NOW, null, NOW).outcome()).isEqualTo(Outcome.RUNNING);
    assertThat(JobController.plan(onFailure, new Counts(1, 0, 0, 2), NOW, null, NOW).outcome()).isEqualTo(Outcome.FAILED);
    Spec noRestarts = new Spec(1, 1, 0, true, false, null);
    assertThat(JobController.plan(noRestarts, new Counts(1, 0, 0, 1), NOW, null, NOW).outcome()).isEqualTo(Outcome.FAILED);
  }

  @Test
  void activeDeadlineFailsTheJob() {
    Spec deadline = new Spec(1, 1, 6, false, false, 30L);
    assertThat(JobController.plan(deadline, new Counts(1, 0, 0, 0), NOW.minusSeconds(29), null, NOW).outcome()).isEqualTo(Outcome.RUNNING);
    Plan late = JobController.plan(deadline, new Counts(1, 0, 0, 0), NOW.minusSeconds(30), null, NOW);
    assertThat(late).extracting(Plan::outcome, Plan::reason, Plan::delete).containsExactly(Outcome.FAILED, "DeadlineExceeded", 1);
  }

  @Test
  void aSuspendedJobRunsNoPods() {
    Spec suspended = new Spec(2, 2, 6, false, true, null);
    assertThat(JobController.plan(suspended, new Counts(1, 0, 0, 0), null, null, NOW))
        .extracting(Plan::outcome, Plan::create, Plan::delete).containsExactly(Outcome.SUSPENDED, 0, 1);
  }
}
