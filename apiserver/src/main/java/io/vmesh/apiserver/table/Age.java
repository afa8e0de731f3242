package io.vmesh.apiserver.table;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/** Formats the time since a timestamp the way Kubernetes prints an age ({@code 45s}, {@code 3h5m}, {@code 2d}). */
public final class Age {

  private Age() {
  }

  /** The age of {@code timestamp} at {@code now}, or {@code <unknown>} when it cannot be parsed. */
  public static String since(String timestamp, Instant now) {
    Instant then = parse(timestamp);
    return then == null ? "<unknown>" : human(Duration.between(then, now));
  }

  /** Same thresholds as Kubernetes' {@code duration.HumanDuration}, so columns line up with a real cluster. */
  public static String human(Duration d) {
    long seconds = d.getSeconds();
    if (seconds < -1) {
      return "<invalid>";
    }
    if (seconds < 0) {
      return "0s";
    }
    if (seconds < 60 * 2) {
      return seconds + "s";
    }
    long minutes = seconds / 60;
    if (minutes < 10) {
      return units(minutes, "m", seconds % 60, "s");
    }
    if (minutes < 60 * 3) {
      return minutes + "m";
    }
    long hours = minutes / 60;
    if (hours < 8) {
      return units(hours, "h", minutes % 60, "m");
    }
    if (hours < 48) {
      return hours + "h";
    }
    if (hours < 24 * 8) {
      return units(hours / 24, "d", hours % 24, "h");
    }
    if (hours < 24 * 365 * 2) {
      return hours / 24 + "d";
    }
    if (hours < 24 * 365 * 8) {
      return units(hours / 24 / 365, "y", (hours / 24) % 365, "d");
    }
    return hours / 24 / 365 + "y";
  }

  /** "3h5m", or "3h" when the smaller unit is zero. */
  private static String units(long major, String majorUnit, long minor, String minorUnit) {
    return minor == 0 ? major + majorUnit : major + majorUnit + minor + minorUnit;
  }

  static Instant parse(String timestamp) {
    if (timestamp == null || timestamp.isBlank()) {
      return null;
    }
    try {
      return OffsetDateTime.parse(timestamp).toInstant();
    } catch (DateTimeParseException e) {
      // the mock writes deletion timestamps without a zone; they are UTC
      try {
        return LocalDateTime.parse(timestamp).toInstant(ZoneOffset.UTC);
      } catch (DateTimeParseException again) {
        return null;
      }
    }
  }
}
