package io.vmesh.operator.xds;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The duration syntax of the CRDs ({@code 250ms}, {@code 5s}, {@code 1m30s}, {@code 1.5h}), Go's without µs and ns. */
final class GoDuration {

  private static final Pattern WHOLE = Pattern.compile("([0-9]+(\\.[0-9]+)?(ms|s|m|h))+");
  private static final Pattern PART = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(ms|s|m|h)");

  private GoDuration() {
  }

  static Duration parse(String text) {
    if (text == null || !WHOLE.matcher(text).matches()) {
      throw new IllegalArgumentException("not a duration such as 250ms, 5s or 1m30s: '" + text + "'");
    }
    BigDecimal millis = BigDecimal.ZERO;
    Matcher part = PART.matcher(text);
    while (part.find()) {
      long unit = switch (part.group(2)) {
        case "ms" -> 1;
        case "s" -> 1_000;
        case "m" -> 60_000;
        default -> 3_600_000;
      };
      millis = millis.add(new BigDecimal(part.group(1)).multiply(BigDecimal.valueOf(unit)));
    }
    return Duration.ofMillis(millis.longValue());
  }
}
