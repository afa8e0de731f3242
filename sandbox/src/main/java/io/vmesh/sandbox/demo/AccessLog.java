package io.vmesh.sandbox.demo;

import io.vmesh.sandbox.topology.SandboxException;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A sidecar's access log read back into fields with the proxy's own parser ({@code io.vmesh.proxy.accesslog.AccessLogLine}),
 * loaded from vmesh-proxy.jar: the sandbox jar does not carry the proxy's classes, and the parser must stay the one
 * that matches the format the proxy writes.
 */
final class AccessLog {

  /** One access-log line: the parser's fields by their record component names, and the line itself. */
  record Entry(Map<String, String> fields, String line) {
    String get(String field) {
      String v = fields.get(field);
      if (v == null) {
        throw new IllegalArgumentException("no access-log field " + field + " (known: " + fields.keySet() + ")");
      }
      return v;
    }
  }

  private final Method parse;
  private final RecordComponent[] components;

  private AccessLog(Method parse, RecordComponent[] components) {
    this.parse = parse;
    this.components = components;
  }

  static AccessLog parserFrom(Path proxyJar) {
    try {
      // never closed: the parser's class stays in use for the whole run
      URLClassLoader loader = new URLClassLoader(new URL[] {proxyJar.toUri().toURL()}, null);
      Class<?> type = loader.loadClass("io.vmesh.proxy.accesslog.AccessLogLine");
      return new AccessLog(type.getMethod("parse", String.class), type.getRecordComponents());
    } catch (IOException | ReflectiveOperationException e) {
      throw new SandboxException("cannot load the access-log parser from " + proxyJar + ": " + e, e);
    }
  }

  Optional<Entry> parse(String line) {
    try {
      Optional<?> parsed = (Optional<?>) parse.invoke(null, line);
      if (parsed.isEmpty()) {
        return Optional.empty();
      }
      Map<String, String> fields = new LinkedHashMap<>();
      for (RecordComponent c : components) {
        fields.put(c.getName(), String.valueOf(c.getAccessor().invoke(parsed.get())));
      }
      return Optional.of(new Entry(fields, line));
    } catch (ReflectiveOperationException e) {
      throw new SandboxException("the access-log parser failed on: " + line, e);
    }
  }

  /** The access-log lines of {@code file} from line number {@code from} (0-based) on; other lines are skipped. */
  List<Entry> read(Path file, int from) {
    List<Entry> out = new ArrayList<>();
    List<String> lines = lines(file);
    for (String l : lines.subList(Math.min(from, lines.size()), lines.size())) {
      parse(l).ifPresent(out::add);
    }
    return out;
  }

  static List<String> lines(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file) : List.of();
    } catch (IOException e) {
      throw new SandboxException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
