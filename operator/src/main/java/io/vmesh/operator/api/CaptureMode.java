package io.vmesh.operator.api;

/** How the init container redirects inbound traffic (outbound always uses nat REDIRECT). */
public enum CaptureMode {
  /** nat REDIRECT: simple; the application sees the proxy's address as the client. */
  REDIRECT,
  /** mangle TPROXY: keeps the client's source address; needs IP_TRANSPARENT in the proxy. */
  TPROXY
}
