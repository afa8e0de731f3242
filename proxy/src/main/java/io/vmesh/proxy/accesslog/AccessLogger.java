package io.vmesh.proxy.accesslog;

import io.vmesh.proxy.accesslog.AccessLog.Entry;
import java.util.function.Consumer;
import java.util.function.Function;

/** One configured access logger ({@code access_log[]}): how a line looks and where it goes. */
public record AccessLogger(Function<Entry, String> format, Consumer<String> out) {

  void log(Entry e) {
    out.accept(format.apply(e));
  }
}
