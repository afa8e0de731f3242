package io.vmesh.proxy.capture;

import java.util.regex.Pattern;

/**
 * An address range, kept in the form {@code iptables-save} prints it: the network address (host bits
 * cleared), IPv6 compressed as RFC 5952 says, and an explicit prefix length.
 *
 * @param family the address family
 * @param text   the canonical text, for example {@code 10.0.0.0/8} or {@code fd00::/8}
 */
public record Cidr(Family family, String text) {

  private static final Pattern IPV4 = Pattern.compile("^(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})$");
  private static final Pattern IPV6_CHARS = Pattern.compile("^[0-9a-fA-F:.]+$");

  /** Parses {@code address[/prefix]}; a bare address is a single host. Literal parsing only: no name is ever resolved. */
  public static Cidr parse(String input) {
    String s = input.strip();
    int slash = s.indexOf('/');
    String addr = slash < 0 ? s : s.substring(0, slash);
    boolean v6 = addr.contains(":");
    byte[] bytes = v6 ? parseIpv6(addr, input) : parseIpv4(addr, input);
    int max = bytes.length * 8;
    int prefix = max;
    if (slash >= 0) {
      try {
        prefix = Integer.parseInt(s.substring(slash + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + input + "' has no valid prefix length");
      }
      if (prefix < 0 || prefix > max) {
        throw new IllegalArgumentException("'" + input + "' has a prefix length outside 0-" + max);
      }
    }
    for (int bit = prefix; bit < max; bit++) {
      bytes[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
    }
    Family family = v6 ? Family.IPV6 : Family.IPV4;
    return new Cidr(family, (v6 ? formatIpv6(bytes) : formatIpv4(bytes)) + "/" + prefix);
  }

  private static byte[] parseIpv4(String addr, String input) {
    var m = IPV4.matcher(addr);
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + input + "' is not an IPv4 or IPv6 address range");
    }
    byte[] b = new byte[4];
    for (int i = 0; i < 4; i++) {
      int octet = Integer.parseInt(m.group(i + 1));
      if (octet > 255) {
        throw new IllegalArgumentException("'" + input + "' has an octet above 255");
      }
      b[i] = (byte) octet;
    }
    return b;
  }

  private static byte[] parseIpv6(String addr, String input) {
    if (!IPV6_CHARS.matcher(addr).matches() || addr.contains(".")) {
      throw new IllegalArgumentException("'" + input + "' is not an IPv4 or IPv6 address range");
    }
    int gap = addr.indexOf("::");
    if (gap >= 0 && addr.indexOf("::", gap + 1) >= 0) {
      throw new IllegalArgumentException("'" + input + "' has more than one '::'");
    }
    String[] head = gap < 0 ? addr.split(":", -1) : split(addr.substring(0, gap));
    String[] tail = gap < 0 ? new String[0] : split(addr.substring(gap + 2));
    if ((gap < 0 && head.length != 8) || (gap >= 0 && head.length + tail.length > 7)) {
      throw new IllegalArgumentException("'" + input + "' does not have 8 IPv6 groups");
    }
    byte[] b = new byte[16];
    fill(b, 0, head, input);
    fill(b, 16 - 2 * tail.length, tail, input);
    return b;
  }

  private static String[] split(String part) {
    return part.isEmpty() ? new String[0] : part.split(":", -1);
  }

  private static void fill(byte[] b, int offset, String[] groups, String input) {
    for (int i = 0; i < groups.length; i++) {
      if (groups[i].isEmpty() || groups[i].length() > 4) {
        throw new IllegalArgumentException("'" + input + "' has an invalid IPv6 group '" + groups[i] + "'");
      }
      int v = Integer.parseInt(groups[i], 16);
      b[offset + 2 * i] = (byte) (v >>> 8);
      b[offset + 2 * i + 1] = (byte) v;
    }
  }

  private static String formatIpv4(byte[] b) {
    return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
  }

  /** RFC 5952: lower case, no leading zeros, the longest run (first if tied) of two or more zero groups as {@code ::}. */
  static String formatIpv6(byte[] b) {
    int[] g = new int[8];
    for (int i = 0; i < 8; i++) {
      g[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLen = 1;
    for (int i = 0; i < 8; i++) {
      int j = i;
      while (j < 8 && g[j] == 0) {
        j++;
      }
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = Math.max(i, j);
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        sb.append("::");
        i += bestLen - 1;
        continue;
      }
      if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
        sb.append(':');
      }
      sb.append(Integer.toHexString(g[i]));
    }
    return sb.toString();
  }
}
