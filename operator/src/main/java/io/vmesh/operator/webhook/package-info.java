/** The injection webhook's HTTPS server, its certificates, and the MutatingWebhookConfiguration the operator keeps in place. */
package io.vmesh.operator.webhook;
