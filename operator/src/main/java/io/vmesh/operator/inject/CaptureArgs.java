package io.vmesh.operator.inject;

import io.vmesh.operator.api.CaptureMode;
import io.vmesh.operator.api.Formats;
import io.vmesh.operator.api.InboundCapture;
import io.vmesh.operator.api.OutboundCapture;
import io.vmesh.operator.api.TrafficCaptureSpec;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The arguments of {@code vmesh-proxy capture} in the vmesh-init container: the TrafficCapture's spec, overridden
 * or extended by the pod's {@code traffic.vmesh.io/*} annotations. Contradictions throw, naming the annotation.
 */
public record CaptureArgs(
    CaptureMode mode,
    String inboundPorts,
    List<Integer> excludeInboundPorts,
    String outboundIpRanges,
    List<String> excludeOutboundIpRanges,
    List<Integer> outboundPorts,
    List<Integer> excludeOutboundPorts,
    int proxyUid) {

  public static final String PREFIX = "traffic.vmesh.io/";
  public static final String INCLUDE_INBOUND_PORTS = PREFIX + "includeInboundPorts";
  public static final String EXCLUDE_INBOUND_PORTS = PREFIX + "excludeInboundPorts";
  public static final String INCLUDE_OUTBOUND_IP_RANGES = PREFIX + "includeOutboundIPRanges";
  public static final String EXCLUDE_OUTBOUND_IP_RANGES = PREFIX + "excludeOutboundIPRanges";
  public static final String INCLUDE_OUTBOUND_PORTS = PREFIX + "includeOutboundPorts";
  public static final String EXCLUDE_OUTBOUND_PORTS = PREFIX + "excludeOutboundPorts";
  public static final Set<String> ANNOTATIONS = Set.of(INCLUDE_INBOUND_PORTS, EXCLUDE_INBOUND_PORTS, INCLUDE_OUTBOUND_IP_RANGES,
      EXCLUDE_OUTBOUND_IP_RANGES, INCLUDE_OUTBOUND_PORTS, EXCLUDE_OUTBOUND_PORTS);

  /** The proxy's health and Prometheus ports: kubelet probes and scrapes must reach the proxy, never be redirected. */
  public static final List<Integer> PROXY_SERVING_PORTS = List.of(ProxyPorts.HEALTH, ProxyPorts.PROMETHEUS);

  private static final Pattern CIDR = Pattern.compile(Formats.CIDR);

  /** Computes the arguments; throws {@link IllegalArgumentException} naming the annotation that is wrong. */
  public static CaptureArgs of(TrafficCaptureSpec spec, Map<String, String> podAnnotations) {
    TrafficCaptureSpec s = spec == null ? new TrafficCaptureSpec() : spec;
    InboundCapture in = s.inbound == null ? new InboundCapture() : s.inbound;
    OutboundCapture out = s.outbound == null ? new OutboundCapture() : s.outbound;
    Map<String, String> a = podAnnotations == null ? Map.of() : podAnnotations;
    for (String key : a.keySet()) {
      if (key.startsWith(PREFIX) && !ANNOTATIONS.contains(key)) {
        throw new IllegalArgumentException("unknown annotation " + key + "; known: " + new TreeSet<>(ANNOTATIONS));
      }
    }

    String inbound = a.containsKey(INCLUDE_INBOUND_PORTS)
        ? portSelection(INCLUDE_INBOUND_PORTS, a.get(INCLUDE_INBOUND_PORTS))
        : String.join(",", in.ports == null ? List.of(Formats.ALL) : in.ports);
    List<Integer> annotatedInboundExcludes = ports(EXCLUDE_INBOUND_PORTS, a.get(EXCLUDE_INBOUND_PORTS));
    List<Integer> inboundExcludes = new ArrayList<>();
    if (Formats.ALL.equals(inbound)) {
      Set<Integer> all = new LinkedHashSet<>(PROXY_SERVING_PORTS);
      all.addAll(orEmpty(in.excludePorts));
      all.addAll(annotatedInboundExcludes);
      inboundExcludes.addAll(new TreeSet<>(all));
    } else {
      if (!annotatedInboundExcludes.isEmpty()) {
        // Istio ignores excludes silently here (istio#11660); saying so is kinder
        throw new IllegalArgumentException(EXCLUDE_INBOUND_PORTS + " only applies when every inbound port is captured, but inbound ports are '"
            + inbound + "'; list the ports to capture in " + INCLUDE_INBOUND_PORTS + " instead");
      }
      for (String p : inbound.isEmpty() ? new String[0] : inbound.split(",")) {
        if (PROXY_SERVING_PORTS.contains(Integer.parseInt(p))) {
          throw new IllegalArgumentException("inbound port " + p + " is the proxy's own (health 15021, metrics 15090) and cannot be captured");
        }
      }
    }

    String outboundRanges = a.containsKey(INCLUDE_OUTBOUND_IP_RANGES)
        ? rangeSelection(INCLUDE_OUTBOUND_IP_RANGES, a.get(INCLUDE_OUTBOUND_IP_RANGES))
        : String.join(",", out.ipRanges == null ? List.of(Formats.ALL) : out.ipRanges);
    List<String> excludeRanges = union(orEmpty(out.excludeIPRanges), ranges(EXCLUDE_OUTBOUND_IP_RANGES, a.get(EXCLUDE_OUTBOUND_IP_RANGES)));
    for (String r : excludeRanges) {
      if (List.of(outboundRanges.split(",")).contains(r)) {
        throw new IllegalArgumentException("outbound IP range " + r + " is both captured and excluded (check " + INCLUDE_OUTBOUND_IP_RANGES
            + " and " + EXCLUDE_OUTBOUND_IP_RANGES + ")");
      }
    }
    List<Integer> outPorts = union(orEmpty(out.ports), ports(INCLUDE_OUTBOUND_PORTS, a.get(INCLUDE_OUTBOUND_PORTS)));
    List<Integer> excludeOutPorts = union(orEmpty(out.excludePorts), ports(EXCLUDE_OUTBOUND_PORTS, a.get(EXCLUDE_OUTBOUND_PORTS)));
    for (Integer p : outPorts) {
      if (excludeOutPorts.contains(p)) {
        throw new IllegalArgumentException("outbound port " + p + " is both always captured and never captured (check "
            + INCLUDE_OUTBOUND_PORTS + " and " + EXCLUDE_OUTBOUND_PORTS + ")");
      }
    }
    int uid = s.proxy == null || s.proxy.uid == null ? ProxyPorts.PROXY_UID : s.proxy.uid;
    return new CaptureArgs(s.mode == null ? CaptureMode.REDIRECT : s.mode, inbound, List.copyOf(inboundExcludes), outboundRanges,
        excludeRanges, outPorts, excludeOutPorts, uid);
  }

  /** The argument vector after the {@code capture} subcommand; empty lists are left out so the proxy's defaults stay visible. */
  public List<String> toArgs() {
    List<String> args = new ArrayList<>();
    args.add("--mode=" + mode.name());
    args.add("--inbound-port=" + ProxyPorts.INBOUND);
    args.add("--outbound-port=" + ProxyPorts.OUTBOUND);
    args.add("--inbound-ports=" + inboundPorts);
    addList(args, "--exclude-inbound-ports", excludeInboundPorts);
    args.add("--outbound-ip-ranges=" + outboundIpRanges);
    addList(args, "--exclude-outbound-ip-ranges", excludeOutboundIpRanges);
    addList(args, "--outbound-ports", outboundPorts);
    addList(args, "--exclude-outbound-ports", excludeOutboundPorts);
    args.add("--proxy-uid=" + proxyUid);
    args.add("--proxy-gid=" + proxyUid);
    return args;
  }

  private static void addList(List<String> args, String flag, List<?> values) {
    if (!values.isEmpty()) {
      args.add(flag + "=" + String.join(",", values.stream().map(String::valueOf).toList()));
    }
  }

  private static String portSelection(String key, String value) {
    String v = value.trim();
    return Formats.ALL.equals(v) ? v : String.join(",", ports(key, v).stream().map(String::valueOf).toList());
  }

  private static String rangeSelection(String key, String value) {
    String v = value.trim();
    return Formats.ALL.equals(v) ? v : String.join(",", ranges(key, v));
  }

  private static List<Integer> ports(String key, String value) {
    List<Integer> ports = new ArrayList<>();
    for (String item : items(value)) {
      int port;
      try {
        port = Integer.parseInt(item);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(key + ": '" + item + "' is not a port number");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException(key + ": port " + port + " is outside 1-65535");
      }
      if (ports.contains(port)) {
        throw new IllegalArgumentException(key + ": port " + port + " is listed twice");
      }
      ports.add(port);
    }
    return ports;
  }

  private static List<String> ranges(String key, String value) {
    List<String> ranges = new ArrayList<>();
    for (String item : items(value)) {
      if (!CIDR.matcher(item).matches()) {
        throw new IllegalArgumentException(key + ": '" + item + "' is not a CIDR block (like 10.0.0.0/8 or fd00::/8)");
      }
      if (!ranges.contains(item)) {
        ranges.add(item);
      }
    }
    return ranges;
  }

  private static List<String> items(String value) {
    if (value == null || value.isBlank()) {
      return List.of();
    }
    List<String> items = new ArrayList<>();
    for (String item : value.split(",")) {
      items.add(item.trim());
    }
    return items;
  }

  private static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }

  private static <T> List<T> union(List<T> first, List<T> second) {
    Set<T> all = new LinkedHashSet<>(first);
    all.addAll(second);
    return List.copyOf(all);
  }
}
