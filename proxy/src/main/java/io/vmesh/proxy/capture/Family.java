package io.vmesh.proxy.capture;

/** An address family, with the addresses the rules single out in each. */
public enum Family {
  IPV4("IPv4", "-4", "127.0.0.1/32", "127.0.0.6/32", "0.0.0.0"),
  IPV6("IPv6", "-6", "::1/128", "::6/128", "::");

  private final String label;
  private final String ipFlag;
  private final String loopback;
  private final String passthroughSource;
  private final String anyAddress;

  Family(String label, String ipFlag, String loopback, String passthroughSource, String anyAddress) {
    this.label = label;
    this.ipFlag = ipFlag;
    this.loopback = loopback;
    this.passthroughSource = passthroughSource;
    this.anyAddress = anyAddress;
  }

  public String label() {
    return label;
  }

  /** {@code ip}'s family flag. */
  public String ipFlag() {
    return ipFlag;
  }

  /** The loopback host, as iptables-save prints it. */
  public String loopback() {
    return loopback;
  }

  /** The source the proxy's inbound passthrough binds (127.0.0.6, ::6), as iptables-save prints it. */
  public String passthroughSource() {
    return passthroughSource;
  }

  public String anyAddress() {
    return anyAddress;
  }
}
