/** The contract between the injection webhook and the reconcilers: the pod's status annotation and the spec hash. */
package io.vmesh.operator.inject;
