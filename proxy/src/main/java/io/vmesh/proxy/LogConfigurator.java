package io.vmesh.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.pattern.TargetLengthBasedClassNameAbbreviator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.util.CachingDateFormatter;

/**
 * The proxy's logging, set up in code instead of a {@code logback.xml}: reading XML costs the sidecar
 * some 600 classes (Joran, the JDK's XML parser) and their memory for as long as it runs. Found by
 * logback through {@code META-INF/services}. {@code -Dlogback.configurationFile=FILE} still takes over.
 * Lines are written by {@link Line}, not a {@code PatternLayout}, whose converter table and pattern
 * parser are another ~150 classes and more than half of logback's set-up time at every start.
 *
 * <p>Standard output carries the access log only, written by {@code accesslog.AccessLogSink} (buffered,
 * not through logback). The proxy's own log: standard error, level from {@code VMESH_LOG_LEVEL} (default INFO).
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogConfigurator extends ContextAwareBase implements Configurator {

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    context.getLogger("io.netty").setLevel(Level.WARN);
    // namespaces have no hardware address; Netty then picks random channel-id bytes, which is fine
    context.getLogger("io.netty.util.internal.MacAddressUtil").setLevel(Level.ERROR);
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    String level = System.getProperty("VMESH_LOG_LEVEL", System.getenv("VMESH_LOG_LEVEL"));
    root.setLevel(Level.toLevel(level, Level.INFO));
    root.addAppender(console(context, "STDERR", "System.err"));
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  private static ConsoleAppender<ILoggingEvent> console(LoggerContext context, String name, String target) {
    Line line = new Line();
    line.setContext(context);
    line.start();
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(context);
    encoder.setLayout(line);
    encoder.start();
    ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
    appender.setContext(context);
    appender.setName(name);
    appender.setTarget(target);
    appender.setEncoder(encoder);
    appender.start();
    return appender;
  }

  /**
   * What the pattern {@code %d{ISO8601} %-5level %logger{20} %msg%n} prints, the throwable's stack trace
   * after it, written out. Thread-safe: appenders call it outside their lock.
   */
  static final class Line extends LayoutBase<ILoggingEvent> {
    private final CachingDateFormatter date = new CachingDateFormatter(CoreConstants.ISO8601_PATTERN);
    private final TargetLengthBasedClassNameAbbreviator logger = new TargetLengthBasedClassNameAbbreviator(20);

    @Override
    public String doLayout(ILoggingEvent event) {
      StringBuilder sb = new StringBuilder(128);
      sb.append(date.format(event.getTimeStamp())).append(' ');
      String level = event.getLevel().toString();
      sb.append(level);
      for (int i = level.length(); i < 5; i++) {
        sb.append(' ');
      }
      sb.append(' ').append(logger.abbreviate(event.getLoggerName())).append(' ').append(event.getFormattedMessage())
          .append(CoreConstants.LINE_SEPARATOR);
      IThrowableProxy thrown = event.getThrowableProxy();
      if (thrown != null) {
        sb.append(ThrowableProxyUtil.asString(thrown));
      }
      return sb.toString();
    }
  }
}
