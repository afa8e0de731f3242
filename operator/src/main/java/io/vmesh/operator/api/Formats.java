package io.vmesh.operator.api;

/** Patterns shared by the CRD schema annotations and the validator, so both check the same thing. */
public final class Formats {

  private static final String CIDR_BODY =
      "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}/([0-9]|[12][0-9]|3[0-2])"
          + "|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])";

  /** An IPv4 or IPv6 CIDR block such as {@code 10.0.0.0/8} or {@code fd00::/8}. */
  public static final String CIDR = "^(" + CIDR_BODY + ")$";

  /** {@code "*"} (everything) or a CIDR block. */
  public static final String CIDR_OR_ALL = "^(\\*|" + CIDR_BODY + ")$";

  /** {@code "*"} (every port) or a port number. */
  public static final String PORT_OR_ALL = "^(\\*|[1-9][0-9]{0,4})$";

  /** A Go-style duration as Kubernetes and Envoy write it: {@code 250ms}, {@code 5s}, {@code 1m30s}. */
  public static final String DURATION = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";

  /** A Kubernetes object name (DNS-1123 label). */
  public static final String DNS_LABEL = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";

  public static final String ALL = "*";

  private Formats() {
  }
}
