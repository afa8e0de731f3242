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

  @Test
  void aRotatedCaStaysInTheBundleUntilItExpiresSoReplicasOnTheOldCertificateAreStillTrusted() throws Exception {
    WebhookCertificates old = WebhookCertificates.issue(NAMES, at(T0));
    Instant late = T0.plus(WebhookCertificates.CA_VALIDITY).minus(Duration.ofDays(10));
    WebhookCertificates rotated = old.renewIfNeeded(NAMES, at(late));
    assertThat(rotated.previousCaCertPem()).isEqualTo(old.caCertPem());

    String bundle = rotated.caBundlePem(late);
    assertThat(bundle).contains(rotated.caCertPem()).contains(old.caCertPem());
    List<java.security.cert.X509Certificate> cas = new java.util.ArrayList<>();
    for (var c : java.security.cert.CertificateFactory.getInstance("X.509")
        .generateCertificates(new java.io.ByteArrayInputStream(bundle.getBytes(java.nio.charset.StandardCharsets.US_ASCII)))) {
      cas.add((java.security.cert.X509Certificate) c);
    }
    // both the replica that rotated and the one still serving the old certificate are signed by a CA of the bundle
    // (signatures only: a PKIX check would use the wall clock, not the test's)
    assertThat(cas).hasSize(2);
    assertThat(signedByOneOf(rotated.servingCertificate(), cas)).isTrue();
    assertThat(signedByOneOf(old.servingCertificate(), cas)).isTrue();
    assertThat(signedByOneOf(WebhookCertificates.issue(NAMES, at(T0)).servingCertificate(), cas)).as("a stranger is not").isFalse();

    assertThat(WebhookCertificates.fromSecretData(rotated.toSecretData())).isEqualTo(rotated);
    Instant afterOldExpiry = old.caCertificate().getNotAfter().toInstant().plusSeconds(1);
    assertThat(rotated.caBundlePem(afterOldExpiry)).as("an expired CA leaves the bundle").isEqualTo(rotated.caCertPem());
    WebhookCertificates renewedAgain = rotated.renewIfNeeded(NAMES, at(late.plus(WebhookCertificates.CERT_VALIDITY)));
    assertThat(renewedAgain.previousCaCertPem()).as("renewing the serving certificate keeps the overlap").isEqualTo(old.caCertPem());
  }

  @Test
  void aFreshCaHasNoPreviousOne() {
    WebhookCertificates certs = WebhookCertificates.issue(NAMES, at(T0));
    assertThat(certs.previousCaCertPem()).isNull();
    assertThat(certs.caBundlePem(T0)).isEqualTo(certs.caCertPem());
    assertThat(certs.toSecretData()).doesNotContainKey("ca-previous.crt");
  }

  private static boolean signedByOneOf(java.security.cert.X509Certificate cert, List<java.security.cert.X509Certificate> cas) {
    for (var ca : cas) {
      try {
        cert.verify(ca.getPublicKey());
        return true;
      } catch (java.security.GeneralSecurityException e) {
        // not this one
      }
    }
    return false;
  }
}
