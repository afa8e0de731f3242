package io.vmesh.sandbox;

import io.vmesh.proxy.accesslog.AccessLogLine;
import io.vmesh.sandbox.topology.PodProcess;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

/** The sidecar's access log read back into fields (its default format), so tests check each fact by name. */
final class AccessLogs {

  private AccessLogs() {
  }

  /** The first line, now or within {@code timeout}, for the connection from {@code downstream} ({@code ip:port}). */
  static AccessLogLine awaitFrom(PodProcess sidecar, String downstream, Duration timeout) {
    return awaitMatching(sidecar, l -> l.downstreamRemoteAddress().equals(downstream), timeout);
  }

  static AccessLogLine awaitMatching(PodProcess sidecar, Predicate<AccessLogLine> condition, Duration timeout) {
    String line = sidecar.awaitLine(l -> AccessLogLine.parse(l).filter(condition).isPresent(), timeout);
    return AccessLogLine.parse(line).orElseThrow();
  }

  /** Whether any of {@code lines} logs a connection from {@code downstream}. */
  static boolean anyFrom(List<String> lines, String downstream) {
    return lines.stream().anyMatch(l -> AccessLogLine.parse(l).filter(a -> a.downstreamRemoteAddress().equals(downstream)).isPresent());
  }
}
