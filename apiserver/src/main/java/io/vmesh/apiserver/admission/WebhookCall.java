package io.vmesh.apiserver.admission;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * One HTTPS POST to an admission webhook, as the API server makes it: the certificate must chain to the
 * configuration's {@code caBundle} and name the host of the URL (for a Service, {@code name.ns.svc}), while
 * the TCP connection goes to the address the Service resolved to. HTTP/1.1 with {@code Connection: close}
 * keeps it to one small exchange.
 */
final class WebhookCall {

  /** Where to connect and which name the certificate must carry. */
  record Target(String serverName, int namedPort, String connectHost, int port, String path) {
    /** The URL as the client means it (the Service's name and port), for messages and the Host header. */
    String url() {
      return "https://" + serverName + ":" + namedPort + path;
    }
  }

  private WebhookCall() {
  }

  static String post(Target target, String caBundleBase64, String body, Duration timeout) throws IOException {
    SSLContext tls = trusting(caBundleBase64);
    int millis = (int) Math.max(1, timeout.toMillis());
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress(target.connectHost(), target.port()), millis);
      plain.setSoTimeout(millis);
      try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket(plain, target.serverName(), target.port(), true)) {
        SSLParameters params = socket.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        if (!isIpLiteral(target.serverName())) {
          params.setServerNames(List.of(new SNIHostName(target.serverName())));
        }
        socket.setSSLParameters(params);
        socket.startHandshake();
        byte[] payload = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        String head = "POST " + target.path() + "?timeout=" + timeout.toSeconds() + "s HTTP/1.1\r\n"
            + "Host: " + target.serverName() + ":" + target.namedPort() + "\r\n"
            + "Content-Type: application/json\r\nAccept: application/json\r\n"
            + "Content-Length: " + payload.length + "\r\nConnection: close\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(payload);
        out.flush();
        return readResponse(socket.getInputStream());
      }
    }
  }

  /** The body of a 200 answer; any other status is an error naming it. */
  private static String readResponse(InputStream in) throws IOException {
    byte[] all = in.readAllBytes();
    String text = new String(all, StandardCharsets.ISO_8859_1);
    int end = text.indexOf("\r\n\r\n");
    if (end < 0) {
      throw new IOException("the webhook's answer is not HTTP (" + all.length + " bytes)");
    }
    String[] headLines = text.substring(0, end).split("\r\n");
    String[] statusLine = headLines[0].split(" ", 3);
    int code = statusLine.length > 1 ? Integer.parseInt(statusLine[1]) : 0;
    boolean chunked = false;
    for (String h : headLines) {
      String lower = h.toLowerCase(Locale.ROOT);
      if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      }
    }
    byte[] rest = java.util.Arrays.copyOfRange(all, end + 4, all.length);
    String body = new String(chunked ? dechunk(rest) : rest, StandardCharsets.UTF_8);
    if (code != 200) {
      throw new IOException("the webhook answered HTTP " + code + ": " + body.strip());
    }
    return body;
  }

  private static byte[] dechunk(byte[] chunked) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int i = 0;
    while (i < chunked.length) {
      int lineEnd = indexOfCrlf(chunked, i);
      if (lineEnd < 0) {
        throw new IOException("truncated chunked body");
      }
      String sizeText = new String(chunked, i, lineEnd - i, StandardCharsets.US_ASCII).split(";")[0].strip();
      int size = Integer.parseInt(sizeText, 16);
      if (size == 0) {
        break;
      }
      out.write(chunked, lineEnd + 2, size);
      i = lineEnd + 2 + size + 2;
    }
    return out.toByteArray();
  }

  private static int indexOfCrlf(byte[] b, int from) {
    for (int i = from; i + 1 < b.length; i++) {
      if (b[i] == '\r' && b[i + 1] == '\n') {
        return i;
      }
    }
    return -1;
  }

  private static boolean isIpLiteral(String host) {
    return host.matches("[0-9.]+") || host.contains(":");
  }

  /** A TLS context that trusts exactly the certificates in the PEM bundle (base64 of PEM, as in clientConfig.caBundle). */
  static SSLContext trusting(String caBundleBase64) throws IOException {
    if (caBundleBase64 == null || caBundleBase64.isBlank()) {
      throw new IOException("the webhook configuration has no caBundle, and this API server trusts no system CAs for webhooks");
    }
    try {
      byte[] pem = Base64.getDecoder().decode(caBundleBase64.strip());
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      int n = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
        trust.setCertificateEntry("ca-" + n++, c);
      }
      if (n == 0) {
        throw new IOException("the caBundle holds no certificate");
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException("the caBundle is not a base64 PEM certificate bundle: " + e.getMessage(), e);
    }
  }

  static Target target(URI url) {
    int port = url.getPort() < 0 ? 443 : url.getPort();
    String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath();
    return new Target(url.getHost(), port, url.getHost(), port, path);
  }
}
