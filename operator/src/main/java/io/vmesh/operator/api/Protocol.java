package io.vmesh.operator.api;

/** The application protocol of an inbound port. */
public enum Protocol {
  HTTP,
  HTTP2,
  GRPC,
  TCP,
  TLS
}
