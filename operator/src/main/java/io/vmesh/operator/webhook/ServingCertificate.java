package io.vmesh.operator.webhook;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The certificate chain and key the webhook serves, as PEM: made by {@link WebhookCertificates} or mounted (OLM, cert-manager). */
public record ServingCertificate(String certPem, String keyPem) {

  /** {@code tls.crt} and {@code tls.key} of a mounted Secret, used as they are. */
  public static ServingCertificate read(Path dir) throws IOException {
    try {
      return new ServingCertificate(Files.readString(dir.resolve("tls.crt")), Files.readString(dir.resolve("tls.key")));
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(e.getFile(), null, "the webhook certificate directory needs tls.crt and tls.key");
    }
  }
}
