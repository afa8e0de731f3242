/** The CustomResourceDefinition manifests of vmesh's resources. */
package io.vmesh.operator.crd;
