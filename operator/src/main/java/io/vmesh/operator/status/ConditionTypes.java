package io.vmesh.operator.status;

/** Condition types and reasons of vmesh's resources (Kubernetes API conventions, Gateway API vocabulary). */
public final class ConditionTypes {

  public static final String ACCEPTED = "Accepted";
  public static final String RESOLVED_REFS = "ResolvedRefs";
  public static final String READY = "Ready";

  public static final String TRUE = "True";
  public static final String FALSE = "False";
  public static final String UNKNOWN = "Unknown";

  /** Accepted=True. */
  public static final String REASON_ACCEPTED = "Accepted";
  /** Accepted=False: the spec breaks a validation rule. */
  public static final String REASON_INVALID = "Invalid";
  /** Accepted=False: an older resource at the same precedence level claims the same pods. */
  public static final String REASON_CONFLICTED = "Conflicted";
  /** ResolvedRefs=True. */
  public static final String REASON_RESOLVED_REFS = "ResolvedRefs";
  /** ResolvedRefs=False: a route names a Service or port that does not exist. */
  public static final String REASON_BACKEND_NOT_FOUND = "BackendNotFound";
  /** Ready=False on a TrafficCapture: a pod it selects is also selected by an older TrafficCapture. */
  public static final String REASON_CONFLICTING_CAPTURES = "ConflictingCaptures";
  /** Ready=True. */
  public static final String REASON_RECONCILED = "Reconciled";
  /** Ready=False: the reconciler failed; the message says why, and it is retried. */
  public static final String REASON_RECONCILE_ERROR = "ReconcileError";

  private ConditionTypes() {
  }
}
