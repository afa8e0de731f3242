package io.vmesh.operator.webhook;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The webhook's self-signed CA and serving certificate (EC P-256), as PEM, the way they are kept in a Secret
 * ({@code ca.crt}, {@code ca.key}, {@code tls.crt}, {@code tls.key}, and {@code ca-previous.crt} after a CA rotation).
 * Time comes from an injected Clock.
 *
 * @param previousCaCertPem the CA this one replaced, or null: it stays in the caBundle until it expires, so a replica
 *     still serving a certificate of the old CA keeps being trusted while it catches up with the Secret
 */
public record WebhookCertificates(String caCertPem, String caKeyPem, String certPem, String keyPem, String previousCaCertPem) {

  public WebhookCertificates(String caCertPem, String caKeyPem, String certPem, String keyPem) {
    this(caCertPem, caKeyPem, certPem, keyPem, null);
  }

  public static final Duration CA_VALIDITY = Duration.ofDays(365);
  public static final Duration CERT_VALIDITY = Duration.ofDays(90);
  /** Renew when less than this is left: a third of the serving certificate's life. */
  public static final Duration RENEW_BEFORE = CERT_VALIDITY.dividedBy(3);

  private static final Pattern IP = Pattern.compile("^[0-9.]+$|^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$");
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A new CA and a serving certificate for the given DNS names and IP addresses. */
  public static WebhookCertificates issue(List<String> names, Clock clock) {
    KeyPair ca = keyPair();
    Instant now = clock.instant();
    X509Certificate caCert = sign(new X500Name("CN=vmesh-webhook-ca"), new X500Name("CN=vmesh-webhook-ca"), ca, ca.getPrivate(), null,
        now, now.plus(CA_VALIDITY), null);
    return serving(caCert, ca.getPrivate(), names, now);
  }

  /** This set if it is good for longer than {@link #RENEW_BEFORE}, else a renewed one: same CA while it lasts, else a new CA. */
  public WebhookCertificates renewIfNeeded(List<String> names, Clock clock) {
    Instant now = clock.instant();
    if (!needsRenewal(names, now)) {
      return this;
    }
    X509Certificate caCert = certificate(caCertPem);
    if (caCert.getNotAfter().toInstant().isAfter(now.plus(CERT_VALIDITY))) {
      return serving(caCert, privateKey(caKeyPem), names, now).withPreviousCa(previousCaCertPem);
    }
    return issue(names, clock).withPreviousCa(caCertPem);
  }

  private WebhookCertificates withPreviousCa(String pem) {
    return new WebhookCertificates(caCertPem, caKeyPem, certPem, keyPem, pem);
  }

  /** What the webhook configuration trusts: this CA, then the previous one while it is still valid at {@code now}. */
  public String caBundlePem(Instant now) {
    if (previousCaCertPem == null || certificate(previousCaCertPem).getNotAfter().toInstant().isBefore(now)) {
      return caCertPem;
    }
    return caCertPem.endsWith("\n") ? caCertPem + previousCaCertPem : caCertPem + "\n" + previousCaCertPem;
  }

  /** True when the serving certificate expires within {@link #RENEW_BEFORE} or does not cover exactly {@code names}. */
  public boolean needsRenewal(List<String> names, Instant now) {
    X509Certificate cert = certificate(certPem);
    if (cert.getNotAfter().toInstant().isBefore(now.plus(RENEW_BEFORE))) {
      return true;
    }
    try {
      List<String> covered = new ArrayList<>();
      if (cert.getSubjectAlternativeNames() != null) {
        cert.getSubjectAlternativeNames().forEach(san -> covered.add(String.valueOf(san.get(1))));
      }
      return !covered.containsAll(names) || !names.containsAll(covered);
    } catch (java.security.cert.CertificateParsingException e) {
      return true;
    }
  }

  public ServingCertificate serving() {
    return new ServingCertificate(certPem, keyPem);
  }

  /** TLS for a client of the webhook that trusts only the CAs of a caBundle (PEM, one or more): what the API server does. */
  public static SSLContext clientContext(String caPem) {
    try {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      int i = 0;
      for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(caPem.getBytes(StandardCharsets.US_ASCII)))) {
        trust.setCertificateEntry("vmesh-webhook-ca-" + i++, cert);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ssl = SSLContext.getInstance("TLS");
      ssl.init(null, tmf.getTrustManagers(), null);
      return ssl;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build a TLS context trusting the webhook CA", e);
    }
  }

  public X509Certificate caCertificate() {
    return certificate(caCertPem);
  }

  public X509Certificate servingCertificate() {
    return certificate(certPem);
  }

  /** Secret data (values base64, as in {@code Secret.data}). */
  public Map<String, String> toSecretData() {
    Map<String, String> data = new LinkedHashMap<>();
    data.put("ca.crt", b64(caCertPem));
    data.put("ca.key", b64(caKeyPem));
    data.put("tls.crt", b64(certPem));
    data.put("tls.key", b64(keyPem));
    if (previousCaCertPem != null) {
      data.put("ca-previous.crt", b64(previousCaCertPem));
    }
    return data;
  }

  /** From Secret data; throws naming the key that is missing or unreadable. */
  public static WebhookCertificates fromSecretData(Map<String, String> data) {
    String[] keys = {"ca.crt", "ca.key", "tls.crt", "tls.key"};
    String[] pems = new String[4];
    for (int i = 0; i < keys.length; i++) {
      String value = data == null ? null : data.get(keys[i]);
      if (value == null) {
        throw new IllegalArgumentException("the certificate Secret has no " + keys[i]);
      }
      pems[i] = new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
    }
    String previous = data.get("ca-previous.crt") == null ? null
        : new String(Base64.getDecoder().decode(data.get("ca-previous.crt")), StandardCharsets.UTF_8);
    WebhookCertificates certs = new WebhookCertificates(pems[0], pems[1], pems[2], pems[3], previous);
    if (previous != null) {
      certificate(previous);
    }
    certs.caCertificate();
    certs.servingCertificate();
    privateKey(certs.keyPem());
    return certs;
  }

  private static WebhookCertificates serving(X509Certificate caCert, PrivateKey caKey, List<String> names, Instant now) {
    KeyPair leaf = keyPair();
    List<GeneralName> sans = new ArrayList<>();
    for (String n : names) {
      sans.add(new GeneralName(IP.matcher(n).matches() ? GeneralName.iPAddress : GeneralName.dNSName, n));
    }
    X509Certificate cert = sign(new X500Name("CN=" + names.get(0)), X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()), leaf,
        caKey, caCert, now, now.plus(CERT_VALIDITY), new GeneralNames(sans.toArray(GeneralName[]::new)));
    return new WebhookCertificates(pem("CERTIFICATE", encoded(caCert)), pem("PRIVATE KEY", caKey.getEncoded()),
        pem("CERTIFICATE", encoded(cert)), pem("PRIVATE KEY", leaf.getPrivate().getEncoded()));
  }

  private static X509Certificate sign(X500Name subject, X500Name issuer, KeyPair subjectKeys, PrivateKey issuerKey, X509Certificate issuerCert,
      Instant from, Instant to, GeneralNames sans) {
    try {
      // a minute of slack for clocks that run a little behind the operator's
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, new BigInteger(96, RANDOM).abs().add(BigInteger.ONE),
          Date.from(from.minusSeconds(60)), Date.from(to), subject, subjectKeys.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(subjectKeys.getPublic()));
      if (issuerCert == null) {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuerCert));
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
        b.addExtension(Extension.subjectAlternativeName, false, sans);
      }
      return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot sign the webhook certificate for " + subject, e);
    }
  }

  private static KeyPair keyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no EC P-256 key generator in this JDK", e);
    }
  }

  static X509Certificate certificate(String pem) {
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("not a PEM X.509 certificate: " + e.getMessage(), e);
    }
  }

  static PrivateKey privateKey(String pem) {
    String body = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "").replaceAll("\\s", "");
    try {
      return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalArgumentException("not a PEM PKCS#8 EC private key: " + e.getMessage(), e);
    }
  }

  private static byte[] encoded(X509Certificate cert) {
    try {
      return cert.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der) + "\n-----END " + type + "-----\n";
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }
}
