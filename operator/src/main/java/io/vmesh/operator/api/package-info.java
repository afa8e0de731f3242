/** The custom resources of group {@code vmesh.io}, version {@code v1alpha1}: what users write with kubectl. */
package io.vmesh.operator.api;
