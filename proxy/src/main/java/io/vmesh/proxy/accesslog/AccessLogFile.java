package io.vmesh.proxy.accesslog;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@code FileAccessLog}'s file: lines appended, one write each (no buffer to lose at exit), opened at
 * the first line and shared by every configuration that names the same path, so an update does not
 * reopen it. A line that cannot be written is dropped with a warning; serving goes on.
 */
public final class AccessLogFile implements Consumer<String> {

  private static final Logger LOG = LoggerFactory.getLogger(AccessLogFile.class);
  private static final Map<Path, AccessLogFile> OPEN = new ConcurrentHashMap<>();

  private final Path path;
  private OutputStream out;
  private boolean failed;

  private AccessLogFile(Path path) {
    this.path = path;
  }

  /** The file at {@code path}; whether it can be written is checked by the caller when the config loads. */
  public static AccessLogFile at(Path path) {
    return OPEN.computeIfAbsent(path.toAbsolutePath().normalize(), AccessLogFile::new);
  }

  @Override
  public synchronized void accept(String line) {
    try {
      if (out == null) {
        out = Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
      }
      out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      failed = false;
    } catch (IOException e) {
      if (!failed) {
        // once per run of failures, not per line
        LOG.warn("access log {}: cannot write: {}", path, e.toString());
        failed = true;
      }
    }
  }
}
