package io.vmesh.proxy.capture;

import java.util.List;

/**
 * What the capture rules are computed from, already validated: every constructor check names the
 * command-line flag it guards, so a bad value is reported the way the user typed it.
 *
 * @param mode                  REDIRECT (nat only) or TPROXY (inbound through the mangle table)
 * @param inboundPort           the proxy's virtualInbound port, where captured inbound TCP goes
 * @param outboundPort          the proxy's virtualOutbound port, where captured outbound TCP goes
 * @param inbound               which inbound ports are captured: all ({@code *}) or a list
 * @param excludeInboundPorts   ports never captured inbound; only meaningful with {@code *}
 * @param outboundRanges        which destinations are captured outbound: all or a list of CIDRs
 * @param excludeOutboundRanges destinations never captured outbound
 * @param outboundPorts         destination ports always captured, whatever the CIDRs say
 * @param excludeOutboundPorts  destination ports never captured outbound
 * @param proxyUids             uids whose traffic is never captured (the proxy itself: the loop breaker)
 * @param proxyGids             gids whose traffic is never captured
 */
public record CaptureConfig(
    Mode mode,
    int inboundPort,
    int outboundPort,
    Selection<Integer> inbound,
    List<Integer> excludeInboundPorts,
    Selection<Cidr> outboundRanges,
    List<Cidr> excludeOutboundRanges,
    List<Integer> outboundPorts,
    List<Integer> excludeOutboundPorts,
    List<Integer> proxyUids,
    List<Integer> proxyGids) {

  public static final int DEFAULT_OUTBOUND_PORT = 15001;
  public static final int DEFAULT_INBOUND_PORT = 15006;
  public static final int DEFAULT_PROXY_ID = 1337;
  /** The sidecar's health (15021) and Prometheus (15090) ports: probes and scrapes reach the proxy itself, as Istio's injector arranges. */
  public static final List<Integer> PROXY_SERVING_PORTS = List.of(15021, 15090);

  /** How inbound TCP reaches the proxy. */
  public enum Mode { REDIRECT, TPROXY }

  /** All values ({@code *}) or exactly the listed ones (possibly none). */
  public record Selection<T>(boolean all, List<T> only) {
    public Selection {
      only = List.copyOf(only);
    }

    public static <T> Selection<T> everything() {
      return new Selection<>(true, List.of());
    }

    public static <T> Selection<T> of(List<T> values) {
      return new Selection<>(false, values);
    }
  }

  public CaptureConfig {
    requirePort("--inbound-port", inboundPort);
    requirePort("--outbound-port", outboundPort);
    if (inboundPort == outboundPort) {
      throw new IllegalArgumentException("--inbound-port and --outbound-port must differ, both are " + inboundPort);
    }
    inbound.only().forEach(p -> requirePort("--inbound-ports", p));
    excludeInboundPorts = List.copyOf(excludeInboundPorts);
    excludeInboundPorts.forEach(p -> requirePort("--exclude-inbound-ports", p));
    if (!inbound.all() && !excludeInboundPorts.isEmpty()) {
      // Istio ignores this combination silently (istio#11660); a user who wrote it expected something
      throw new IllegalArgumentException("--exclude-inbound-ports applies only with --inbound-ports '*'; "
          + "with a port list, leave the excluded ports out of the list instead");
    }
    excludeOutboundRanges = List.copyOf(excludeOutboundRanges);
    outboundPorts = List.copyOf(outboundPorts);
    outboundPorts.forEach(p -> requirePort("--outbound-ports", p));
    excludeOutboundPorts = List.copyOf(excludeOutboundPorts);
    excludeOutboundPorts.forEach(p -> requirePort("--exclude-outbound-ports", p));
    proxyUids = List.copyOf(proxyUids);
    proxyGids = List.copyOf(proxyGids);
    if (proxyUids.isEmpty()) {
      throw new IllegalArgumentException("--proxy-uid: at least one uid is required, or the proxy's own traffic loops back into it");
    }
    proxyUids.forEach(id -> requireId("--proxy-uid", id));
    proxyGids.forEach(id -> requireId("--proxy-gid", id));
  }

  /** What the injector asks for in a plain pod: REDIRECT, everything in and out, uid/gid 1337, ports 15001/15006. */
  public static CaptureConfig defaults() {
    return new CaptureConfig(Mode.REDIRECT, DEFAULT_INBOUND_PORT, DEFAULT_OUTBOUND_PORT, Selection.everything(), List.of(),
        Selection.everything(), List.of(), List.of(), List.of(), List.of(DEFAULT_PROXY_ID), List.of(DEFAULT_PROXY_ID));
  }

  /** Parses {@code *}, an empty string (none) or a comma-separated port list given to {@code flag}. */
  public static Selection<Integer> parsePortSelection(String flag, String text) {
    return text.strip().equals("*") ? Selection.everything() : Selection.of(parsePorts(flag, text));
  }

  /** Parses a comma-separated list of ports (empty: none); each must be 1-65535. */
  public static List<Integer> parsePorts(String flag, String text) {
    return parseList(flag, text, item -> {
      try {
        int port = Integer.parseInt(item);
        requirePort(flag, port);
        return port;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + ": '" + item + "' is not a port number");
      }
    });
  }

  /** Parses {@code *} or a comma-separated CIDR list. */
  public static Selection<Cidr> parseRangeSelection(String flag, String text) {
    return text.strip().equals("*") ? Selection.everything() : Selection.of(parseRanges(flag, text));
  }

  /** Parses a comma-separated CIDR list (empty: none). */
  public static List<Cidr> parseRanges(String flag, String text) {
    return parseList(flag, text, item -> {
      try {
        return Cidr.parse(item);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(flag + ": " + e.getMessage());
      }
    });
  }

  /** Splits a comma-separated list given to {@code flag} and parses each item, dropping repeats. */
  private static <T> List<T> parseList(String flag, String text, java.util.function.Function<String, T> parser) {
    return items(flag, text).stream().map(parser).distinct().toList();
  }

  private static List<String> items(String flag, String text) {
    if (text.isBlank()) {
      return List.of();
    }
    return java.util.Arrays.stream(text.split(",", -1)).map(String::strip).peek(s -> {
      if (s.isEmpty()) {
        throw new IllegalArgumentException(flag + ": empty item in '" + text + "'");
      }
    }).toList();
  }

  private static void requirePort(String flag, int port) {
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(flag + " must be between 1 and 65535, got " + port);
    }
  }

  private static void requireId(String flag, int id) {
    if (id < 0) {
      throw new IllegalArgumentException(flag + " must not be negative, got " + id);
    }
  }
}
