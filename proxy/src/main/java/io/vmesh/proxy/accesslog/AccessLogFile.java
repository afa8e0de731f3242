package io.vmesh.proxy.accesslog;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@code FileAccessLog}'s file: opened at the first write and shared by every configuration that names
 * the same path, so an update does not reopen it. Lines are buffered and written as {@link AccessLogSink}
 * says (every second, when the buffer fills, at exit).
 */
public final class AccessLogFile {

  private static final Map<Path, AccessLogSink> OPEN = new ConcurrentHashMap<>();

  private AccessLogFile() {
  }

  /** The file at {@code path}; whether it can be written is checked by the caller when the config loads. */
  public static AccessLogSink at(Path path) {
    return OPEN.computeIfAbsent(path.toAbsolutePath().normalize(), p -> new AccessLogSink(p.toString(), new AccessLogSink.Target() {
      private OutputStream out;

      @Override
      public void write(byte[] bytes, int length) throws java.io.IOException {
        if (out == null) {
          out = Files.newOutputStream(p, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        }
        out.write(bytes, 0, length);
      }
    }));
  }
}
