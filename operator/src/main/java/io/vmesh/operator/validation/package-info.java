/** The one validator of vmesh's specs, shared by the reconcilers, the webhook and the CLIs. */
package io.vmesh.operator.validation;
