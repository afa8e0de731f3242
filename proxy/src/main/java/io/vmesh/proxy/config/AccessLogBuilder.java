package io.vmesh.proxy.config;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.vmesh.proxy.accesslog.AccessLogFile;
import io.vmesh.proxy.accesslog.AccessLogFormat;
import io.vmesh.proxy.accesslog.AccessLogger;
import io.vmesh.proxy.accesslog.JsonAccessLogFormat;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/** The {@code access_log} loggers of a listener, a tcp_proxy or an http_connection_manager; problems named by field path. */
final class AccessLogBuilder {

  /** Envoy's default format, for a logger without {@code log_format}. */
  static final String ENVOY_DEFAULT_FORMAT = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "
      + "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "
      + "\"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

  private AccessLogBuilder() {
  }

  /** The loggers of {@code logs} (at {@code at}, the {@code access_log} field); empty when there are none or any is wrong. */
  static List<AccessLogger> build(List<AccessLog> logs, String at, List<String> problems) {
    int before = problems.size();
    List<AccessLogger> loggers = new ArrayList<>();
    for (int i = 0; i < logs.size(); i++) {
      String tat = at + "[" + i + "].typed_config";
      AccessLog log = logs.get(i);
      if (!log.hasTypedConfig()) {
        problems.add(ConfigException.at(tat, "is required (StdoutAccessLog or FileAccessLog)"));
        continue;
      }
      Optional<Message> config;
      try {
        config = SupportedFields.unpack(log.getTypedConfig());
      } catch (InvalidProtocolBufferException e) {
        problems.add(ConfigException.at(tat, "cannot decode " + log.getTypedConfig().getTypeUrl() + ": " + e.getMessage()));
        continue;
      }
      if (config.isPresent() && config.get() instanceof StdoutAccessLog stdout) {
        format(stdout.hasLogFormat() ? stdout.getLogFormat() : null, tat + ".log_format", problems)
            .ifPresent(f -> loggers.add(new AccessLogger(f, io.vmesh.proxy.accesslog.AccessLog.stdout())));
      } else if (config.isPresent() && config.get() instanceof FileAccessLog file) {
        Consumer<String> out = file(file.getPath(), tat + ".path", problems);
        format(file.hasLogFormat() ? file.getLogFormat() : null, tat + ".log_format", problems)
            .ifPresent(f -> loggers.add(new AccessLogger(f, out)));
      } else {
        problems.add(ConfigException.at(tat, "typed_config type " + log.getTypedConfig().getTypeUrl()
            + " is not an access logger vmesh-proxy supports (StdoutAccessLog, FileAccessLog)"));
      }
    }
    return problems.size() == before ? List.copyOf(loggers) : List.of();
  }

  /** {@code /dev/stdout} is standard output, as the default log; any other path a file whose directory exists. */
  private static Consumer<String> file(String path, String at, List<String> problems) {
    if (path.isEmpty()) {
      problems.add(ConfigException.at(at, "is required"));
      return null;
    }
    if (path.equals("/dev/stdout")) {
      return io.vmesh.proxy.accesslog.AccessLog.stdout();
    }
    try {
      Path p = Path.of(path).toAbsolutePath();
      Path dir = p.getParent();
      if (dir == null || !Files.isDirectory(dir) || (Files.exists(p) ? !Files.isWritable(p) : !Files.isWritable(dir))) {
        problems.add(ConfigException.at(at, "'" + path + "' cannot be written (its directory must exist and be writable)"));
        return null;
      }
      return AccessLogFile.at(p);
    } catch (InvalidPathException e) {
      problems.add(ConfigException.at(at, "'" + path + "' is not a path: " + e.getMessage()));
      return null;
    }
  }

  private static Optional<Function<io.vmesh.proxy.accesslog.AccessLog.Entry, String>> format(SubstitutionFormatString f, String at,
                                                                                               List<String> problems) {
    if (f == null) {
      return Optional.of(AccessLogFormat.parse(ENVOY_DEFAULT_FORMAT)::format);
    }
    switch (f.getFormatCase()) {
      case TEXT_FORMAT_SOURCE -> {
        String sat = at + ".text_format_source";
        if (f.getTextFormatSource().getSpecifierCase() != io.envoyproxy.envoy.config.core.v3.DataSource.SpecifierCase.INLINE_STRING) {
          problems.add(ConfigException.at(sat, "only inline_string is supported"));
          return Optional.empty();
        }
        try {
          return Optional.of(AccessLogFormat.parse(f.getTextFormatSource().getInlineString())::format);
        } catch (IllegalArgumentException e) {
          problems.add(ConfigException.at(sat + ".inline_string", e.getMessage()));
          return Optional.empty();
        }
      }
      case JSON_FORMAT -> {
        JsonAccessLogFormat json = JsonAccessLogFormat.parse(f.getJsonFormat(), at + ".json_format", problems);
        return json == null ? Optional.empty() : Optional.of(json::format);
      }
      default -> {
        problems.add(ConfigException.at(at, "text_format_source or json_format is required"));
        return Optional.empty();
      }
    }
  }
}
