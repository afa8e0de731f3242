package io.vmesh.proxy.accesslog;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A line of the default access log format ({@link AccessLogFormat#ISTIO_DEFAULT_TEXT}) read back into
 * its fields, for tests and tools that check what the proxy did; {@code -} stays {@code -}.
 */
public record AccessLogLine(String startTime, String method, String path, String protocol, String responseCode,
                            String responseFlags, String responseCodeDetails, String connectionTerminationDetails,
                            String upstreamTransportFailureReason, long bytesReceived, long bytesSent, long durationMillis,
                            String upstreamServiceTime, String forwardedFor, String userAgent, String requestId, String authority,
                            String upstreamHost, String upstreamCluster, String upstreamLocalAddress, String downstreamLocalAddress,
                            String downstreamRemoteAddress, String requestedServerName, String routeName, String listener,
                            String filterChain) {

  private static final int FIELDS = 24;

  /** The fields of {@code line}, or empty when it is not a line of the default format. */
  public static Optional<AccessLogLine> parse(String line) {
    List<String> t = tokens(line.strip());
    if (t.size() != FIELDS || !t.get(0).startsWith("[")) {
      return Optional.empty();
    }
    String[] request = t.get(1).split(" ", -1);
    if (request.length != 3) {
      return Optional.empty();
    }
    try {
      return Optional.of(new AccessLogLine(t.get(0).substring(1, t.get(0).length() - 1), request[0], request[1], request[2],
          t.get(2), t.get(3), t.get(4), t.get(5), t.get(6), Long.parseLong(t.get(7)), Long.parseLong(t.get(8)),
          Long.parseLong(t.get(9)), t.get(10), t.get(11), t.get(12), t.get(13), t.get(14), t.get(15), t.get(16), t.get(17),
          t.get(18), t.get(19), t.get(20), t.get(21), t.get(22), t.get(23)));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /**
   * Whether the {@code [} at {@code i} opens a bracketed field (the start time): its {@code ]} ends the field. An
   * IPv6 address ({@code [fd88::11]:8080}) also starts with one, but runs on to the next space.
   */
  private static boolean bracketedField(String line, int i) {
    int close = line.indexOf(']', i);
    return close >= 0 && (close + 1 == line.length() || line.charAt(close + 1) == ' ');
  }

  /** Space-separated fields; a {@code [...]} or {@code "..."} field is one, without its brackets or quotes. */
  private static List<String> tokens(String line) {
    List<String> out = new ArrayList<>();
    int i = 0;
    while (i < line.length()) {
      char c = line.charAt(i);
      if (c == ' ') {
        i++;
        continue;
      }
      int end;
      if (c == '"') {
        end = line.indexOf('"', i + 1);
        if (end < 0) {
          return List.of();
        }
        out.add(line.substring(i + 1, end));
        i = end + 1;
      } else if (c == '[' && bracketedField(line, i)) {
        end = line.indexOf(']', i);
        out.add(line.substring(i, end + 1));
        i = end + 1;
      } else {
        end = line.indexOf(' ', i);
        end = end < 0 ? line.length() : end;
        out.add(line.substring(i, end));
        i = end;
      }
    }
    return out;
  }
}
