/** MeshPolicy: precedence between policies, references to Services, and the reconciler that reports both. */
package io.vmesh.operator.policy;
