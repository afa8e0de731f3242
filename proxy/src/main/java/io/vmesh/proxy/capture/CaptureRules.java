package io.vmesh.proxy.capture;

import io.vmesh.proxy.capture.CaptureConfig.Mode;
import java.util.List;

/**
 * Computes vmesh's iptables rules for one address family from a {@link CaptureConfig}, in the order
 * Istio's istio-iptables uses (REFERENCE.md section 1), every rule written exactly as
 * {@code iptables-save} prints it and tagged with a {@code vmesh: ...} comment. docs/capture.md gives the
 * reason for each rule.
 */
public final class CaptureRules {

  public static final String INBOUND_CHAIN = "VMESH_INBOUND";
  public static final String IN_REDIRECT_CHAIN = "VMESH_IN_REDIRECT";
  public static final String OUTPUT_CHAIN = "VMESH_OUTPUT";
  public static final String REDIRECT_CHAIN = "VMESH_REDIRECT";
  public static final String DIVERT_CHAIN = "VMESH_DIVERT";
  public static final String TPROXY_CHAIN = "VMESH_TPROXY";
  public static final String MARK_CHAIN = "VMESH_MARK";
  /** Istio's values: packets TPROXY diverted to the proxy (1337), and the proxy's own connections to its pod (1338). */
  public static final int TPROXY_MARK = 1337;
  public static final int HAIRPIN_MARK = 1338;
  /** The routing table that sends TPROXY-marked packets to the local stack. */
  public static final int TPROXY_ROUTE_TABLE = 133;

  private static final String NAT = "nat";
  private static final String MANGLE = "mangle";

  private CaptureRules() {
  }

  public static RuleSet forFamily(CaptureConfig config, Family family) {
    RuleSet.Builder b = new RuleSet.Builder();
    outbound(b, config, family);
    boolean capturesInbound = config.inbound().all() || !config.inbound().only().isEmpty();
    if (capturesInbound && config.mode() == Mode.REDIRECT) {
      redirectInbound(b, config);
    } else if (capturesInbound) {
      tproxyInbound(b, config, family);
    }
    return b.build();
  }

  /** nat PREROUTING → VMESH_INBOUND: excluded ports return, captured ports go to the proxy's inbound port. */
  private static void redirectInbound(RuleSet.Builder b, CaptureConfig config) {
    b.add(NAT, "-A PREROUTING -p tcp" + comment("inbound TCP enters vmesh") + jump(INBOUND_CHAIN));
    inboundSelection(b, NAT, config, IN_REDIRECT_CHAIN);
  }

  /** The port selection shared by both modes: {@code *} minus the exclusions, or exactly the listed ports, to {@code target}. */
  private static void inboundSelection(RuleSet.Builder b, String table, CaptureConfig config, String target) {
    String in = "-A " + INBOUND_CHAIN + " ";
    if (config.inbound().all()) {
      for (int port : CaptureConfig.PROXY_SERVING_PORTS) {
        b.add(table, in + "-p tcp -m tcp --dport " + port + comment("port " + port + " is served by the proxy itself") + " -j RETURN");
      }
      for (int port : config.excludeInboundPorts()) {
        b.add(table, in + "-p tcp -m tcp --dport " + port + comment("inbound port " + port + " is excluded") + " -j RETURN");
      }
      b.add(table, in + "-p tcp" + comment("all other inbound TCP goes to the proxy") + jump(target));
    } else {
      for (int port : config.inbound().only()) {
        b.add(table, in + "-p tcp -m tcp --dport " + port + comment("inbound port " + port + " is captured") + jump(target));
      }
    }
  }

  /**
   * mangle PREROUTING → VMESH_INBOUND: new connections to captured ports are handed to the proxy's
   * transparent listener by TPROXY (mark 1337, routed locally by table 133), later packets of a diverted
   * connection are marked and accepted, loopback traffic is left alone unless it is the proxy's hairpin.
   */
  private static void tproxyInbound(RuleSet.Builder b, CaptureConfig config, Family family) {
    String mark = hex(TPROXY_MARK);
    String hairpin = hex(HAIRPIN_MARK);
    b.add(MANGLE, "-A PREROUTING -p tcp" + comment("inbound TCP enters vmesh") + jump(INBOUND_CHAIN));
    b.add(MANGLE, "-A OUTPUT -p tcp" + comment("marks for connections of the proxy to its own pod") + jump(MARK_CHAIN));
    String in = "-A " + INBOUND_CHAIN + " ";
    b.add(MANGLE, in + "-p tcp -m mark --mark " + mark + comment("keep the divert mark on the connection")
        + " -j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff");
    b.add(MANGLE, in + "-p tcp -m mark --mark " + mark + comment("already diverted to the proxy") + " -j RETURN");
    b.add(MANGLE, in + "-s " + family.passthroughSource() + " -i lo -p tcp"
        + comment("inbound passthrough from the proxy to the app is not captured again") + " -j RETURN");
    b.add(MANGLE, in + "-i lo -p tcp -m mark ! --mark " + hairpin
        + comment("traffic inside the pod is not inbound, except the proxy hairpin") + " -j RETURN");
    b.add(MANGLE, in + "-p tcp -m conntrack --ctstate RELATED,ESTABLISHED"
        + comment("later packets of a diverted connection go to its socket") + jump(DIVERT_CHAIN));
    inboundSelection(b, MANGLE, config, TPROXY_CHAIN);
    b.add(MANGLE, "-A " + DIVERT_CHAIN + comment("route to the local stack (table " + TPROXY_ROUTE_TABLE + ")")
        + " -j MARK --set-xmark " + mark + "/0xffffffff");
    b.add(MANGLE, "-A " + DIVERT_CHAIN + comment("deliver without further rules") + " -j ACCEPT");
    b.add(MANGLE, "-A " + TPROXY_CHAIN + " ! -d " + family.loopback() + " -p tcp"
        + comment("hand the connection to the proxy virtualInbound, destination untouched")
        + " -j TPROXY --on-port " + config.inboundPort() + " --on-ip " + family.anyAddress() + " --tproxy-mark " + mark + "/0xffffffff");
    String out = "-A " + MARK_CHAIN + " ";
    b.add(MANGLE, out + "-o lo -p tcp -m mark --mark " + mark + comment("packets of a diverted connection keep their mark") + " -j RETURN");
    for (int uid : config.proxyUids()) {
      b.add(MANGLE, out + "! -d " + family.loopback() + " -o lo -p tcp -m owner --uid-owner " + uid
          + comment("proxy uid " + uid + " to its own pod: hairpin mark") + " -j MARK --set-xmark " + hairpin + "/0xffffffff");
    }
    for (int gid : config.proxyGids()) {
      b.add(MANGLE, out + "! -d " + family.loopback() + " -o lo -p tcp -m owner --gid-owner " + gid
          + comment("proxy gid " + gid + " to its own pod: hairpin mark") + " -j MARK --set-xmark " + hairpin + "/0xffffffff");
    }
    b.add(MANGLE, out + "-p tcp -m connmark --mark " + mark + comment("replies of a diverted connection carry its mark")
        + " -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff");
  }

  /** nat OUTPUT → VMESH_OUTPUT, in Istio's order: excluded ports, passthrough source, hairpin, loopback, owners, CIDRs, includes. */
  private static void outbound(RuleSet.Builder b, CaptureConfig config, Family family) {
    String out = "-A " + OUTPUT_CHAIN + " ";
    b.add(NAT, "-A OUTPUT -p tcp" + comment("outbound TCP enters vmesh") + jump(OUTPUT_CHAIN));
    b.add(NAT, "-A " + IN_REDIRECT_CHAIN + " -p tcp" + comment("to the proxy virtualInbound")
        + " -j REDIRECT --to-ports " + config.inboundPort());
    b.add(NAT, "-A " + REDIRECT_CHAIN + " -p tcp" + comment("to the proxy virtualOutbound")
        + " -j REDIRECT --to-ports " + config.outboundPort());
    for (int port : config.excludeOutboundPorts()) {
      b.add(NAT, out + "-p tcp -m tcp --dport " + port + comment("outbound port " + port + " is excluded") + " -j RETURN");
    }
    b.add(NAT, out + "-s " + family.passthroughSource() + " -o lo"
        + comment("inbound passthrough from the proxy to the app is not captured again") + " -j RETURN");
    for (int uid : config.proxyUids()) {
      b.add(NAT, out + "! -d " + family.loopback() + " -o lo -m owner --uid-owner " + uid
          + comment("proxy uid " + uid + " to its own pod: hairpin into inbound") + jump(IN_REDIRECT_CHAIN));
    }
    for (int gid : config.proxyGids()) {
      b.add(NAT, out + "! -d " + family.loopback() + " -o lo -m owner --gid-owner " + gid
          + comment("proxy gid " + gid + " to its own pod: hairpin into inbound") + jump(IN_REDIRECT_CHAIN));
    }
    b.add(NAT, out + "-o lo" + comment("the app talking to its own pod skips the proxy") + " -j RETURN");
    for (int uid : config.proxyUids()) {
      b.add(NAT, out + "-m owner --uid-owner " + uid + comment("proxy uid " + uid + ": its own traffic is never captured") + " -j RETURN");
    }
    for (int gid : config.proxyGids()) {
      b.add(NAT, out + "-m owner --gid-owner " + gid + comment("proxy gid " + gid + ": its own traffic is never captured") + " -j RETURN");
    }
    b.add(NAT, out + "-d " + family.loopback() + comment("loopback destination is not captured") + " -j RETURN");
    for (Cidr cidr : config.excludeOutboundRanges()) {
      if (cidr.family() == family) {
        b.add(NAT, out + "-d " + cidr.text() + comment("destination " + cidr.text() + " is excluded") + " -j RETURN");
      }
    }
    for (int port : config.outboundPorts()) {
      b.add(NAT, out + "-p tcp -m tcp --dport " + port + comment("outbound port " + port + " is always captured") + jump(REDIRECT_CHAIN));
    }
    if (config.outboundRanges().all()) {
      b.add(NAT, "-A " + OUTPUT_CHAIN + comment("all other outbound TCP goes to the proxy") + jump(REDIRECT_CHAIN));
    } else {
      for (Cidr cidr : config.outboundRanges().only()) {
        if (cidr.family() == family) {
          b.add(NAT, out + "-d " + cidr.text() + comment("destination " + cidr.text() + " is captured") + jump(REDIRECT_CHAIN));
        }
      }
    }
  }

  /** {@code iptables-save} prints marks in hex. */
  private static String hex(int mark) {
    return "0x" + Integer.toHexString(mark);
  }

  private static String jump(String chain) {
    return " -j " + chain;
  }

  private static String comment(String text) {
    // iptables-save escapes quotes and backslashes; without them our lines equal what it prints
    if (text.matches(".*['\"\\\\].*")) {
      throw new IllegalArgumentException("rule comment must not contain quotes or backslashes: " + text);
    }
    return " -m comment --comment \"vmesh: " + text + "\"";
  }
}
