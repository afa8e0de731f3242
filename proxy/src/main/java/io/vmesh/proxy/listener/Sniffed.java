package io.vmesh.proxy.listener;

import java.util.List;

/**
 * What a listener filter learnt from a connection's first bytes: whether it has seen enough, and if
 * the bytes were its protocol, the transport protocol, server name and application protocols to match
 * filter chains with.
 */
public record Sniffed(Status status, String transportProtocol, String serverName, List<String> applicationProtocols) {

  public enum Status {
    /** the bytes so far are a prefix of the protocol: wait for more */
    NEED_MORE,
    /** the bytes are not this protocol (or too long to be its opening) */
    NOT_FOUND,
    /** the protocol's opening was read whole */
    FOUND
  }

  public static final Sniffed NEED_MORE = new Sniffed(Status.NEED_MORE, "", "", List.of());
  public static final Sniffed NOT_FOUND = new Sniffed(Status.NOT_FOUND, "", "", List.of());

  public Sniffed {
    applicationProtocols = List.copyOf(applicationProtocols);
  }
}
