package io.vmesh.proxy.listener;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Envoy's {@code http_inspector}: tells plaintext HTTP from the first bytes, without consuming them —
 * the HTTP/2 connection preface gives {@code h2c}, an HTTP/1.x request line {@code http/1.0} or
 * {@code http/1.1} — as application protocols to match filter chains with.
 */
public final class HttpInspector {

  /** Envoy's limit: a request line longer than this is not taken as HTTP. */
  static final int MAX_REQUEST_LINE = 8192;
  private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private HttpInspector() {
  }

  /** Inspects the bytes from the reader index on; the buffer is not modified. */
  public static Sniffed inspect(ByteBuf data) {
    int start = data.readerIndex();
    int available = data.readableBytes();
    Sniffed.Status preface = http2Preface(data);
    if (preface == Sniffed.Status.FOUND) {
      return found("h2c");
    }
    if (preface == Sniffed.Status.NEED_MORE) {
      return Sniffed.NEED_MORE;
    }
    // METHOD SP request-target SP HTTP/1.x CRLF, the method being an upper-case token
    int i = 0;
    while (i < available && isMethodChar(data.getByte(start + i))) {
      i++;
    }
    if (i == available) {
      return available >= MAX_REQUEST_LINE ? Sniffed.NOT_FOUND : Sniffed.NEED_MORE;
    }
    if (i == 0 || data.getByte(start + i) != ' ') {
      return Sniffed.NOT_FOUND;
    }
    int limit = Math.min(available, MAX_REQUEST_LINE);
    for (int j = i + 1; j < limit; j++) {
      byte c = data.getByte(start + j);
      if (c == '\n') {
        if (data.getByte(start + j - 1) != '\r') {
          return Sniffed.NOT_FOUND;
        }
        return version(data.toString(start, j - 1, StandardCharsets.US_ASCII));
      }
      if (c != '\r' && (c < 0x20 || c == 0x7f)) {
        return Sniffed.NOT_FOUND;
      }
    }
    return available >= MAX_REQUEST_LINE ? Sniffed.NOT_FOUND : Sniffed.NEED_MORE;
  }

  /**
   * Whether the bytes from the reader index on are the HTTP/2 connection preface: {@code FOUND} when
   * they start with it, {@code NEED_MORE} while they are a prefix of it; the buffer is not modified.
   */
  public static Sniffed.Status http2Preface(ByteBuf data) {
    int start = data.readerIndex();
    int prefaceBytes = Math.min(data.readableBytes(), H2_PREFACE.length);
    for (int i = 0; i < prefaceBytes; i++) {
      if (data.getByte(start + i) != H2_PREFACE[i]) {
        return Sniffed.Status.NOT_FOUND;
      }
    }
    return prefaceBytes == H2_PREFACE.length ? Sniffed.Status.FOUND : Sniffed.Status.NEED_MORE;
  }

  private static Sniffed version(String requestLine) {
    int lastSpace = requestLine.lastIndexOf(' ');
    int firstSpace = requestLine.indexOf(' ');
    if (lastSpace <= firstSpace + 1) {
      return Sniffed.NOT_FOUND;
    }
    return switch (requestLine.substring(lastSpace + 1)) {
      case "HTTP/1.1" -> found("http/1.1");
      case "HTTP/1.0" -> found("http/1.0");
      default -> Sniffed.NOT_FOUND;
    };
  }

  private static boolean isMethodChar(byte c) {
    return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
  }

  private static Sniffed found(String protocol) {
    return new Sniffed(Sniffed.Status.FOUND, "", "", List.of(protocol));
  }
}
