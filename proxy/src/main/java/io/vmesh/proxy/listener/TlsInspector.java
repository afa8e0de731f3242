package io.vmesh.proxy.listener;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Envoy's {@code tls_inspector}: reads a TLS ClientHello from the first bytes of a connection, without
 * consuming them, for its server name (SNI) and application protocols (ALPN). The ClientHello may be
 * split over several TLS records and over any number of TCP segments; the caller offers everything
 * received so far and gets {@link Sniffed.Status#NEED_MORE} until it is whole.
 */
public final class TlsInspector {

  /** Envoy's default {@code max_client_hello_size}: a longer one is not taken as TLS. */
  static final int MAX_CLIENT_HELLO = 64 * 1024;
  private static final int RECORD_HEADER = 5;
  private static final int HANDSHAKE = 22;
  private static final int CLIENT_HELLO = 1;
  private static final int MAX_RECORD = 16384 + 2048;
  private static final int EXT_SERVER_NAME = 0;
  private static final int EXT_ALPN = 16;

  private TlsInspector() {
  }

  /** Inspects the bytes from the reader index on; the buffer is not modified. */
  public static Sniffed inspect(ByteBuf data) {
    int at = data.readerIndex();
    int end = data.writerIndex();
    byte[] hello = null;
    int helloLength = 0;
    while (true) {
      if (end - at < 1) {
        return Sniffed.NEED_MORE;
      }
      if (data.getUnsignedByte(at) != HANDSHAKE) {
        return Sniffed.NOT_FOUND;
      }
      if (end - at >= 2 && data.getUnsignedByte(at + 1) != 3) {
        return Sniffed.NOT_FOUND;
      }
      if (end - at < RECORD_HEADER) {
        return Sniffed.NEED_MORE;
      }
      int recordLength = data.getUnsignedShort(at + 3);
      if (recordLength == 0 || recordLength > MAX_RECORD) {
        return Sniffed.NOT_FOUND;
      }
      if (end - at < RECORD_HEADER + recordLength) {
        return Sniffed.NEED_MORE;
      }
      // handshake messages may be fragmented over records: gather the fragments
      if (hello == null) {
        hello = new byte[Math.min(MAX_CLIENT_HELLO + 4, recordLength * 4)];
      }
      if (helloLength + recordLength > MAX_CLIENT_HELLO + 4) {
        return Sniffed.NOT_FOUND;
      }
      if (helloLength + recordLength > hello.length) {
        hello = Arrays.copyOf(hello, Math.min(MAX_CLIENT_HELLO + 4, Math.max(hello.length * 2, helloLength + recordLength)));
      }
      data.getBytes(at + RECORD_HEADER, hello, helloLength, recordLength);
      helloLength += recordLength;
      at += RECORD_HEADER + recordLength;
      if (helloLength >= 4) {
        if ((hello[0] & 0xff) != CLIENT_HELLO) {
          return Sniffed.NOT_FOUND;
        }
        int bodyLength = ((hello[1] & 0xff) << 16) | ((hello[2] & 0xff) << 8) | (hello[3] & 0xff);
        if (bodyLength > MAX_CLIENT_HELLO) {
          return Sniffed.NOT_FOUND;
        }
        if (helloLength >= 4 + bodyLength) {
          return parseClientHello(hello, 4, 4 + bodyLength);
        }
      }
    }
  }

  /** client_version, random, session_id, cipher_suites, compression_methods, then the extensions. */
  private static Sniffed parseClientHello(byte[] b, int from, int to) {
    Reader r = new Reader(b, from, to);
    if (!r.skip(2 + 32) || !r.skip(r.u8()) || !r.skip(r.u16()) || !r.skip(r.u8())) {
      return Sniffed.NOT_FOUND;
    }
    String serverName = "";
    List<String> alpn = new ArrayList<>();
    if (r.remaining() > 0) {
      int extensionsLength = r.u16();
      int extensionsEnd = r.pos + extensionsLength;
      if (r.failed || extensionsEnd > to) {
        return Sniffed.NOT_FOUND;
      }
      while (r.pos < extensionsEnd) {
        int type = r.u16();
        int length = r.u16();
        int next = r.pos + length;
        if (r.failed || next > extensionsEnd) {
          return Sniffed.NOT_FOUND;
        }
        if (type == EXT_SERVER_NAME) {
          serverName = serverName(new Reader(b, r.pos, next));
        } else if (type == EXT_ALPN && !protocols(new Reader(b, r.pos, next), alpn)) {
          return Sniffed.NOT_FOUND;
        }
        r.pos = next;
      }
    }
    if (serverName == null) {
      return Sniffed.NOT_FOUND;
    }
    return new Sniffed(Sniffed.Status.FOUND, "tls", serverName, alpn);
  }

  /** The host_name entry of a server_name extension; null when malformed. */
  private static String serverName(Reader r) {
    int listLength = r.u16();
    int listEnd = r.pos + listLength;
    while (!r.failed && r.pos < listEnd) {
      int nameType = r.u8();
      int length = r.u16();
      if (r.failed || r.pos + length > listEnd) {
        return null;
      }
      if (nameType == 0) {
        return new String(r.b, r.pos, length, StandardCharsets.US_ASCII).toLowerCase(Locale.ROOT);
      }
      r.pos += length;
    }
    return r.failed ? null : "";
  }

  private static boolean protocols(Reader r, List<String> into) {
    int listLength = r.u16();
    int listEnd = r.pos + listLength;
    while (!r.failed && r.pos < listEnd) {
      int length = r.u8();
      if (r.failed || length == 0 || r.pos + length > listEnd) {
        return false;
      }
      into.add(new String(r.b, r.pos, length, StandardCharsets.US_ASCII));
      r.pos += length;
    }
    return !r.failed;
  }

  /** Bounds-checked big-endian reads; a read past the end sets {@code failed}. */
  private static final class Reader {
    final byte[] b;
    final int end;
    int pos;
    boolean failed;

    Reader(byte[] b, int from, int to) {
      this.b = b;
      this.pos = from;
      this.end = to;
    }

    int remaining() {
      return end - pos;
    }

    int u8() {
      if (pos + 1 > end) {
        failed = true;
        return 0;
      }
      return b[pos++] & 0xff;
    }

    int u16() {
      if (pos + 2 > end) {
        failed = true;
        return 0;
      }
      int v = ((b[pos] & 0xff) << 8) | (b[pos + 1] & 0xff);
      pos += 2;
      return v;
    }

    boolean skip(int n) {
      if (failed || pos + n > end) {
        failed = true;
        return false;
      }
      pos += n;
      return true;
    }
  }
}
