/**
 * Sidecar injection: the pure {@code InjectionDecision}, the explicit RFC 6902 patch of {@code PodMutator}, the
 * AdmissionReview handler, offline injection of workloads, and the contract with the reconcilers (the pod's
 * {@code vmesh.io/status} annotation and the spec hash).
 */
package io.vmesh.operator.inject;
