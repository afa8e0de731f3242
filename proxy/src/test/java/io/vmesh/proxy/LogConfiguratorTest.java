package io.vmesh.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.LoggingEvent;
import org.junit.jupiter.api.Test;

class LogConfiguratorTest {

  @Test
  void aLineIsWhatThePatternItReplacesPrints() {
    LoggerContext context = new LoggerContext();
    PatternLayout pattern = new PatternLayout();
    pattern.setContext(context);
    pattern.setPattern("%d{ISO8601} %-5level %logger{20} %msg%n");
    pattern.start();
    LogConfigurator.Line line = new LogConfigurator.Line();
    line.setContext(context);
    line.start();

    var cause = new IllegalStateException("inner");
    LoggingEvent[] events = {
        new LoggingEvent("fqcn", context.getLogger("io.vmesh.proxy.ProxyServer"), Level.INFO, "ready: {} listeners", null,
            new Object[] {2}),
        new LoggingEvent("fqcn", context.getLogger("short"), Level.WARN, "no args", null, null),
        new LoggingEvent("fqcn", context.getLogger("io.vmesh.proxy.listener.ListenerServer"), Level.ERROR, "failed",
            new RuntimeException("outer", cause), null),
        new LoggingEvent("fqcn", context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME), Level.DEBUG, "root", null, null),
    };
    for (LoggingEvent e : events) {
      assertThat(line.doLayout(e)).isEqualTo(pattern.doLayout(e));
    }
    assertThat(line.doLayout(events[0])).matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3} INFO  i\\.v\\.p\\.ProxyServer ready: 2 listeners\\R");
    assertThat(line.doLayout(events[2])).contains("ERROR i.v.p.l.ListenerServer failed", "java.lang.RuntimeException: outer",
        "Caused by: java.lang.IllegalStateException: inner", "\tat io.vmesh.proxy.LogConfiguratorTest");
  }
}
