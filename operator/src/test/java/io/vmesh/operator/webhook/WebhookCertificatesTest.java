package io.vmesh.operator.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WebhookCertificatesTest {

  static final List<String> NAMES = List.of("vmesh-operator.vmesh-system.svc", "localhost", "127.0.0.1");
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  static Clock at(Instant instant) {
    return Clock.fixed(instant, ZoneOffset.UTC);
  }

  @Test
  void theServingCertificateIsSignedByTheCaAndCoversTheNames() throws Exception {
    WebhookCertificates certs = WebhookCertificates.issue(NAMES, at(T0));
    certs.servingCertificate().verify(certs.caCertificate().getPublicKey());
    assertThat(certs.caCertificate().getBasicConstraints()).isEqualTo(0);
    assertThat(certs.servingCertificate().getBasicConstraints()).isEqualTo(-1);
    assertThat(certs.servingCertificate().getSubjectAlternativeNames().stream().map(san -> String.valueOf(san.get(1))).toList())
        .containsExactlyElementsOf(NAMES);
    assertThat(certs.servingCertificate().getNotAfter().toInstant()).isEqualTo(T0.plus(WebhookCertificates.CERT_VALIDITY));
  }

  @Test
  void renewsOnlyInTheLastThirdOfTheCertificatesLife() {
    WebhookCertificates certs = WebhookCertificates.issue(NAMES, at(T0));
    Instant renewAt = T0.plus(WebhookCertificates.CERT_VALIDITY).minus(WebhookCertificates.RENEW_BEFORE);

    assertThat(certs.renewIfNeeded(NAMES, at(renewAt.minusSeconds(1)))).isSameAs(certs);
    WebhookCertificates renewed = certs.renewIfNeeded(NAMES, at(renewAt.plusSeconds(1)));
    assertThat(renewed).isNotSameAs(certs);
    assertThat(renewed.caCertPem()).as("the CA is kept while it lasts: the caBundle does not change").isEqualTo(certs.caCertPem());
    assertThat(renewed.servingCertificate().getNotAfter().toInstant()).isEqualTo(renewAt.plusSeconds(1).plus(WebhookCertificates.CERT_VALIDITY));
  }

  @Test
  void aCaNearItsEndIsReplacedWithTheCertificate() {
    WebhookCertificates certs = WebhookCertificates.issue(NAMES, at(T0));
    Instant late = T0.plus(WebhookCertificates.CA_VALIDITY).minus(Duration.ofDays(10));
    WebhookCertificates renewed = certs.renewIfNeeded(NAMES, at(late));
    assertThat(renewed.caCertPem()).isNotEqualTo(certs.caCertPem());
    assertThat(renewed.caCertificate().getNotAfter().toInstant()).isEqualTo(late.plus(WebhookCertificates.CA_VALIDITY));
  }

  @Test
  void otherNamesMeanANewCertificate() {
    WebhookCertificates certs = WebhookCertificates.issue(NAMES, at(T0));
    assertThat(certs.needsRenewal(List.of("vmesh-operator.other.svc"), T0)).isTrue();
    assertThat(certs.needsRenewal(NAMES, T0)).isFalse();
  }

  @Test
  void secretDataRoundTripsAndAMissingKeyIsNamed() {
    WebhookCertificates certs = WebhookCertificates.issue(NAMES, at(T0));
    assertThat(WebhookCertificates.fromSecretData(certs.toSecretData())).isEqualTo(certs);
    Map<String, String> data = new java.util.HashMap<>(certs.toSecretData());
    data.remove("tls.key");
    assertThatThrownBy(() -> WebhookCertificates.fromSecretData(data)).hasMessage("the certificate Secret has no tls.key");
  }
}
