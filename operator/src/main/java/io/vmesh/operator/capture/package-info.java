/** TrafficCapture: which pods it selects, how many carry the sidecar, and the reconciler that reports it. */
package io.vmesh.operator.capture;
