package io.vmesh.operator.api;

/** The sidecar's log level. */
public enum ProxyLogLevel {
  trace,
  debug,
  info,
  warn,
  error
}
