package io.vmesh.apiserver.table;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class AgeTest {

  @ParameterizedTest(name = "{0}s -> {1}")
  @CsvSource({
      "-5, <invalid>",
      "-1, 0s",
      "0, 0s",
      "45, 45s",
      "119, 119s",
      "120, 2m",
      "185, 3m5s",
      "599, 9m59s",
      "600, 10m",
      "10799, 179m",
      "10800, 3h",
      "11100, 3h5m",
      "28799, 7h59m",
      "28800, 8h",
      "172799, 47h",
      "172800, 2d",
      "183600, 2d3h",
      "691200, 8d",
      "63071999, 729d",
      "63072000, 2y",
      "63158400, 2y1d",
      "252288000, 8y",
  })
  void formatsLikeKubernetes(long seconds, String expected) {
    assertThat(Age.human(Duration.ofSeconds(seconds))).isEqualTo(expected);
  }

  @Test
  void measuresFromTheTimestampToNow() {
    Instant now = Instant.parse("2026-11-26T15:00:00Z");
    assertThat(Age.since("2026-11-26T11:55:00Z", now)).isEqualTo("3h5m");
    assertThat(Age.since("2026-11-24T15:00:00Z", now)).isEqualTo("2d");
    // the mock writes deletion timestamps without an offset
    assertThat(Age.since("2026-11-26T14:59:30.123", now)).isEqualTo("29s");
    assertThat(Age.since("yesterday", now)).isEqualTo("<unknown>");
    assertThat(Age.since(null, now)).isEqualTo("<unknown>");
  }
}
