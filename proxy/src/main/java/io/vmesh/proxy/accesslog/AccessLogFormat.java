package io.vmesh.proxy.accesslog;

import io.netty.util.NetUtil;
import io.vmesh.proxy.accesslog.AccessLog.Entry;
import io.vmesh.proxy.accesslog.AccessLog.Result;
import java.net.InetSocketAddress;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * An Envoy access-log format string ({@code text_format_source}): literal text and {@code %COMMAND%}
 * operators, each printed as Envoy prints it, {@code -} for a value that is not set. A format naming an
 * operator this class does not know is refused when parsed.
 */
public final class AccessLogFormat {

  /**
   * Istio's default sidecar format, then the listener and filter chain names (vmesh's addition, so that
   * a line tells which listener and chain served it).
   */
  public static final String ISTIO_DEFAULT_TEXT = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
      + "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "
      + "\"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "
      + "\"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" "
      + "%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% "
      + "%REQUESTED_SERVER_NAME% %ROUTE_NAME% %LISTENER_NAME% %FILTER_CHAIN_NAME%\n";

  /** Envoy's START_TIME default: milliseconds, UTC. */
  private static final DateTimeFormatter START = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private static final Set<String> SIMPLE = Set.of("START_TIME", "PROTOCOL", "RESPONSE_CODE", "RESPONSE_FLAGS",
      "RESPONSE_CODE_DETAILS", "CONNECTION_TERMINATION_DETAILS", "UPSTREAM_TRANSPORT_FAILURE_REASON", "BYTES_RECEIVED",
      "BYTES_SENT", "DURATION", "UPSTREAM_HOST", "UPSTREAM_CLUSTER", "UPSTREAM_CLUSTER_RAW", "UPSTREAM_LOCAL_ADDRESS",
      "DOWNSTREAM_LOCAL_ADDRESS", "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT", "DOWNSTREAM_REMOTE_ADDRESS",
      "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT", "DOWNSTREAM_PEER_ADDRESS", "REQUESTED_SERVER_NAME", "ROUTE_NAME",
      "LISTENER_NAME", "FILTER_CHAIN_NAME");

  /** The last START_TIME printed: requests come many to a millisecond, and formatting one costs more than the rest of the line. */
  private record Stamp(long millis, String text) {
  }

  private static volatile Stamp lastStart = new Stamp(Long.MIN_VALUE, "");

  /**
   * Addresses as printed, with and without the port: a line prints up to four, the same few again and again
   * (a connection's peer, an endpoint), and formatting one costs several objects. Emptied when it grows past
   * {@link #ADDRESSES_KEPT} (original destinations and client ports are many).
   */
  private static final Map<InetSocketAddress, String> WITH_PORT = new ConcurrentHashMap<>();
  private static final Map<InetSocketAddress, String> WITHOUT_PORT = new ConcurrentHashMap<>();
  private static final int ADDRESSES_KEPT = 1024;

  /** A line's builder, kept by each thread: a line is formatted per request, and growing a fresh one costs copies. */
  private static final int LINE_CAPACITY = 512;
  private static final ThreadLocal<StringBuilder> LINE = ThreadLocal.withInitial(() -> new StringBuilder(LINE_CAPACITY));

  // after the tables above, which parsing uses
  public static final AccessLogFormat ISTIO_DEFAULT = parse(ISTIO_DEFAULT_TEXT);

  private final List<Function<Entry, String>> parts;

  private AccessLogFormat(List<Function<Entry, String>> parts) {
    this.parts = parts;
  }

  /** The format's operators in Envoy's syntax, {@code %REQ(A?B):N%} included; refused with the offending operator named. */
  public static AccessLogFormat parse(String format) {
    List<Function<Entry, String>> parts = new ArrayList<>();
    StringBuilder literal = new StringBuilder();
    int i = 0;
    while (i < format.length()) {
      char c = format.charAt(i);
      if (c != '%') {
        literal.append(c);
        i++;
        continue;
      }
      int end = format.indexOf('%', i + 1);
      if (end < 0) {
        throw new IllegalArgumentException("unterminated command operator at offset " + i + ": '" + format.substring(i) + "'");
      }
      String op = format.substring(i + 1, end);
      i = end + 1;
      if (op.isEmpty()) {
        literal.append('%');
        continue;
      }
      Function<Entry, String> part = operator(op);
      if (literal.length() > 0) {
        String text = literal.toString();
        parts.add(e -> text);
        literal.setLength(0);
      }
      parts.add(part);
    }
    if (literal.length() > 0) {
      String text = literal.toString();
      parts.add(e -> text);
    }
    return new AccessLogFormat(List.copyOf(parts));
  }

  /** The line for {@code e}, without the format's trailing newline (the logger adds one). */
  public String format(Entry e) {
    StringBuilder sb = LINE.get();
    sb.setLength(0);
    for (int i = 0; i < parts.size(); i++) {
      sb.append(parts.get(i).apply(e));
    }
    int n = sb.length();
    String line = n > 0 && sb.charAt(n - 1) == '\n' ? sb.substring(0, n - 1) : sb.toString();
    if (sb.capacity() > 16 * LINE_CAPACITY) {
      // a line with huge headers: not kept for the rest of the thread's life
      LINE.set(new StringBuilder(LINE_CAPACITY));
    }
    return line;
  }

  static String startTime(java.time.Instant start) {
    long millis = start.toEpochMilli();
    Stamp last = lastStart;
    if (last.millis() != millis) {
      last = new Stamp(millis, START.format(start));
      lastStart = last;
    }
    return last.text();
  }

  private static Function<Entry, String> operator(String op) {
    if (op.startsWith("REQ(") || op.startsWith("RESP(")) {
      boolean request = op.startsWith("REQ(");
      int open = op.indexOf('(');
      int close = op.indexOf(')');
      if (close < 0) {
        throw new IllegalArgumentException("command operator %" + op + "% has no closing parenthesis");
      }
      String[] names = op.substring(open + 1, close).toLowerCase(Locale.ROOT).split("\\?", -1);
      if (names.length > 2 || names[0].isEmpty()) {
        throw new IllegalArgumentException("command operator %" + op + "%: one header, or two separated by '?'");
      }
      int max = maxLength(op, close);
      if (request) {
        return e -> truncate(requestHeader(e, names), max);
      }
      if (names.length == 1 && names[0].equals("x-envoy-upstream-service-time")) {
        return e -> truncate(e.http() == null ? null : e.http().upstreamServiceTime(), max);
      }
      throw new IllegalArgumentException("command operator %" + op + "%: of the response headers only "
          + "X-ENVOY-UPSTREAM-SERVICE-TIME is kept for the access log");
    }
    if (!SIMPLE.contains(op)) {
      throw new IllegalArgumentException("command operator %" + op + "% is not supported by vmesh-proxy (supported: REQ(...), "
          + "RESP(X-ENVOY-UPSTREAM-SERVICE-TIME), " + String.join(", ", SIMPLE.stream().sorted().toList()) + ")");
    }
    return switch (op) {
      case "START_TIME" -> e -> startTime(e.start());
      case "PROTOCOL" -> e -> e.http() == null ? "-" : dash(e.http().protocol());
      // Envoy prints 0 for a TCP connection and for a request that got no response
      case "RESPONSE_CODE" -> e -> e.http() == null ? "0" : Integer.toString(e.http().status());
      case "RESPONSE_FLAGS" -> e -> e.http() == null ? e.result().flag() : dash(e.http().responseFlags());
      case "RESPONSE_CODE_DETAILS" -> AccessLogFormat::details;
      case "CONNECTION_TERMINATION_DETAILS" -> e -> "-";
      case "UPSTREAM_TRANSPORT_FAILURE_REASON" -> e -> dash(e.failureReason());
      case "BYTES_RECEIVED" -> e -> Long.toString(e.bytesReceived());
      case "BYTES_SENT" -> e -> Long.toString(e.bytesSent());
      case "DURATION" -> e -> Long.toString(e.durationMillis());
      case "UPSTREAM_HOST" -> e -> address(e.upstreamHost(), true);
      case "UPSTREAM_CLUSTER", "UPSTREAM_CLUSTER_RAW" -> e -> dash(e.cluster());
      case "UPSTREAM_LOCAL_ADDRESS" -> e -> address(e.upstreamLocal(), true);
      case "DOWNSTREAM_LOCAL_ADDRESS" -> e -> address(e.originalDst(), true);
      case "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT" -> e -> address(e.originalDst(), false);
      case "DOWNSTREAM_REMOTE_ADDRESS", "DOWNSTREAM_PEER_ADDRESS" -> e -> address(e.downstream(), true);
      case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT" -> e -> address(e.downstream(), false);
      case "REQUESTED_SERVER_NAME" -> e -> dash(e.serverName());
      case "ROUTE_NAME" -> e -> "-";
      case "LISTENER_NAME" -> e -> dash(e.listener());
      case "FILTER_CHAIN_NAME" -> e -> dash(e.chain());
      default -> throw new IllegalStateException("operator in SIMPLE without a case: " + op);
    };
  }

  /** The {@code :N} after the parenthesis of {@code %REQ(X):N%}, or no limit. */
  private static int maxLength(String op, int close) {
    if (close + 1 >= op.length()) {
      return Integer.MAX_VALUE;
    }
    try {
      if (op.charAt(close + 1) != ':') {
        throw new NumberFormatException();
      }
      int n = Integer.parseInt(op.substring(close + 2));
      if (n < 1) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException ex) {
      throw new IllegalArgumentException("command operator %" + op + "%: the length after ':' must be a positive integer");
    }
  }

  private static String requestHeader(Entry e, String[] names) {
    if (e.http() == null) {
      return null;
    }
    for (String name : names) {
      String v = switch (name) {
        case ":method" -> e.http().method();
        case ":path" -> e.http().path();
        default -> e.http().requestHeader().apply(name);
      };
      if (v != null && !v.isEmpty()) {
        return v;
      }
    }
    return null;
  }

  private static String details(Entry e) {
    if (e.http() == null) {
      return e.result().details();
    }
    if (e.result() == Result.OK) {
      return e.http().responseFlags() != null && e.http().responseFlags().contains("DC") ? "downstream_remote_disconnect" : "via_upstream";
    }
    return e.result().details();
  }

  private static String truncate(String value, int max) {
    if (value == null || value.isEmpty()) {
      return "-";
    }
    return value.length() > max ? value.substring(0, max) : value;
  }

  private static String dash(String value) {
    return value == null || value.isEmpty() ? "-" : value;
  }

  private static String address(InetSocketAddress a, boolean withPort) {
    if (a == null) {
      return "-";
    }
    Map<InetSocketAddress, String> cache = withPort ? WITH_PORT : WITHOUT_PORT;
    String text = cache.get(a);
    if (text == null) {
      if (cache.size() >= ADDRESSES_KEPT) {
        cache.clear();
      }
      text = formatAddress(a, withPort);
      cache.put(a, text);
    }
    return text;
  }

  private static String formatAddress(InetSocketAddress a, boolean withPort) {
    String host = a.getAddress() == null ? a.getHostString() : NetUtil.toAddressString(a.getAddress());
    if (!withPort) {
      return host;
    }
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
  }
}
