package io.vmesh.proxy.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;

/** tls_inspector and http_inspector on real openings: the JDK's own ClientHello, split every way. */
class SnifferTest {

  @Test
  void aClientHelloGivesTlsTheServerNameAndTheApplicationProtocols() throws Exception {
    byte[] hello = clientHello("API.Example.com", "h2", "http/1.1");

    Sniffed s = TlsInspector.inspect(Unpooled.wrappedBuffer(hello));

    assertThat(s).isEqualTo(new Sniffed(Sniffed.Status.FOUND, "tls", "api.example.com", List.of("h2", "http/1.1")));
  }

  @Test
  void withoutSniOrAlpnItIsStillTls() throws Exception {
    assertThat(TlsInspector.inspect(Unpooled.wrappedBuffer(clientHello(null))))
        .isEqualTo(new Sniffed(Sniffed.Status.FOUND, "tls", "", List.of()));
  }

  @Test
  void everyPrefixOfAClientHelloAsksForMoreAndNothingIsConsumed() throws Exception {
    byte[] hello = clientHello("www.example.com", "h2");
    for (int n = 0; n < hello.length; n++) {
      ByteBuf partial = Unpooled.wrappedBuffer(Arrays.copyOf(hello, n));
      assertThat(TlsInspector.inspect(partial).status()).as("first %d of %d bytes", n, hello.length).isEqualTo(Sniffed.Status.NEED_MORE);
      assertThat(partial.readerIndex()).isZero();
    }
  }

  @Test
  void aClientHelloFragmentedOverTwoRecordsIsReassembled() throws Exception {
    byte[] hello = clientHello("split.example.com", "h2");
    int body = hello.length - 5;
    int first = body / 3;
    // the same handshake bytes in two TLS records instead of one
    byte[] two = new byte[hello.length + 5];
    System.arraycopy(hello, 0, two, 0, 3);
    two[3] = (byte) (first >> 8);
    two[4] = (byte) first;
    System.arraycopy(hello, 5, two, 5, first);
    System.arraycopy(hello, 0, two, 5 + first, 3);
    two[5 + first + 3] = (byte) ((body - first) >> 8);
    two[5 + first + 4] = (byte) (body - first);
    System.arraycopy(hello, 5 + first, two, 10 + first, body - first);

    assertThat(TlsInspector.inspect(Unpooled.wrappedBuffer(Arrays.copyOf(two, 10 + first))).status())
        .isEqualTo(Sniffed.Status.NEED_MORE);
    assertThat(TlsInspector.inspect(Unpooled.wrappedBuffer(two)).serverName()).isEqualTo("split.example.com");
  }

  @Test
  void otherBytesAreNotTls() {
    assertThat(TlsInspector.inspect(ascii("GET / HTTP/1.1\r\n"))).isEqualTo(Sniffed.NOT_FOUND);
    assertThat(TlsInspector.inspect(Unpooled.wrappedBuffer(new byte[] {22, 9}))).as("not SSL 3 / TLS").isEqualTo(Sniffed.NOT_FOUND);
    assertThat(TlsInspector.inspect(Unpooled.wrappedBuffer(new byte[] {22, 3, 1, 0, 4, 2, 0, 0, 0})))
        .as("a handshake that is not a ClientHello").isEqualTo(Sniffed.NOT_FOUND);
    assertThat(TlsInspector.inspect(Unpooled.wrappedBuffer(new byte[] {22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3})))
        .as("a ClientHello cut short inside its own length").isEqualTo(Sniffed.NOT_FOUND);
  }

  @Test
  void httpOneAndTwoAreTold() {
    assertThat(HttpInspector.inspect(ascii("GET /index.html HTTP/1.1\r\nHost: a\r\n"))).isEqualTo(found("http/1.1"));
    assertThat(HttpInspector.inspect(ascii("POST /x HTTP/1.0\r\n"))).isEqualTo(found("http/1.0"));
    assertThat(HttpInspector.inspect(ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4"))).isEqualTo(found("h2c"));
  }

  @Test
  void theHttp2PrefaceAloneIsToldForTheAutoCodec() {
    assertThat(HttpInspector.http2Preface(ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0"))).isEqualTo(Sniffed.Status.FOUND);
    assertThat(HttpInspector.http2Preface(ascii("PRI * HTTP/2.0\r\n"))).isEqualTo(Sniffed.Status.NEED_MORE);
    assertThat(HttpInspector.http2Preface(ascii(""))).isEqualTo(Sniffed.Status.NEED_MORE);
    assertThat(HttpInspector.http2Preface(ascii("PRI * HTTP/1.1\r\n"))).isEqualTo(Sniffed.Status.NOT_FOUND);
    assertThat(HttpInspector.http2Preface(ascii("GET / HTTP/1.1\r\n"))).isEqualTo(Sniffed.Status.NOT_FOUND);
  }

  @Test
  void partialHttpOpeningsAskForMore() {
    assertThat(HttpInspector.inspect(ascii(""))).isEqualTo(Sniffed.NEED_MORE);
    assertThat(HttpInspector.inspect(ascii("PRI * HT"))).isEqualTo(Sniffed.NEED_MORE);
    assertThat(HttpInspector.inspect(ascii("GE"))).isEqualTo(Sniffed.NEED_MORE);
    assertThat(HttpInspector.inspect(ascii("GET /a/long/pa"))).isEqualTo(Sniffed.NEED_MORE);
    assertThat(HttpInspector.inspect(ascii("GET / HTTP/1.1\r"))).isEqualTo(Sniffed.NEED_MORE);
  }

  @Test
  void otherProtocolsAndGarbageAreNotHttp() {
    assertThat(HttpInspector.inspect(ascii("SSH-2.0-OpenSSH_9.6\r\n"))).isEqualTo(Sniffed.NOT_FOUND);
    assertThat(HttpInspector.inspect(ascii("hello\n"))).isEqualTo(Sniffed.NOT_FOUND);
    assertThat(HttpInspector.inspect(Unpooled.wrappedBuffer(new byte[] {22, 3, 1}))).isEqualTo(Sniffed.NOT_FOUND);
    assertThat(HttpInspector.inspect(ascii("GET / HTTP/2.0\r\n"))).isEqualTo(Sniffed.NOT_FOUND);
    assertThat(HttpInspector.inspect(ascii("GET / HTTP/1.1\n"))).as("a bare LF").isEqualTo(Sniffed.NOT_FOUND);
    assertThat(HttpInspector.inspect(ascii("GET /" + "a".repeat(HttpInspector.MAX_REQUEST_LINE))))
        .as("a request line over the limit").isEqualTo(Sniffed.NOT_FOUND);
  }

  private static Sniffed found(String protocol) {
    return new Sniffed(Sniffed.Status.FOUND, "", "", List.of(protocol));
  }

  private static ByteBuf ascii(String s) {
    return Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** The first flight of a real TLS client (the JDK's), with the given SNI and ALPN. */
  static byte[] clientHello(String serverName, String... alpn) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, null, null);
    SSLEngine engine = context.createSSLEngine();
    engine.setUseClientMode(true);
    SSLParameters params = engine.getSSLParameters();
    if (serverName != null) {
      params.setServerNames(List.of(new SNIHostName(serverName)));
    }
    params.setApplicationProtocols(alpn);
    engine.setSSLParameters(params);
    ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    engine.beginHandshake();
    engine.wrap(ByteBuffer.allocate(0), out);
    out.flip();
    byte[] bytes = new byte[out.remaining()];
    out.get(bytes);
    return bytes;
  }
}
