/** Which pods a resource selects, and which of two resources claiming the same pods wins. */
package io.vmesh.operator.selection;
