package io.vmesh.proxy.http;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * gRPC's view of the proxy's own replies: a gRPC client reads the status from {@code grpc-status}, not
 * from the HTTP status, so a local reply to a gRPC request is Envoy's: HTTP 200, Trailers-Only, with the
 * HTTP status mapped the way gRPC's http-grpc-status-mapping.md (and Envoy's {@code httpToGrpcStatus}) does.
 */
final class GrpcStatus {

  static final String STATUS = "grpc-status";
  static final String MESSAGE = "grpc-message";
  static final int INTERNAL = 13;
  static final int UNAUTHENTICATED = 16;
  static final int PERMISSION_DENIED = 7;
  static final int UNIMPLEMENTED = 12;
  static final int UNAVAILABLE = 14;
  static final int UNKNOWN = 2;

  private GrpcStatus() {
  }

  /** Envoy's test: {@code application/grpc}, or a {@code +format} / parameters after it (grpc-web is not gRPC here). */
  static boolean isGrpc(String contentType) {
    if (contentType == null || !contentType.startsWith("application/grpc")) {
      return false;
    }
    return contentType.length() == 16 || contentType.charAt(16) == '+' || contentType.charAt(16) == ';';
  }

  /** Envoy's {@code Grpc::Utility::httpToGrpcStatus}. */
  static int fromHttp(int httpStatus) {
    return switch (httpStatus) {
      case 400 -> INTERNAL;
      case 401 -> UNAUTHENTICATED;
      case 403 -> PERMISSION_DENIED;
      case 404 -> UNIMPLEMENTED;
      case 429, 502, 503, 504 -> UNAVAILABLE;
      default -> UNKNOWN;
    };
  }

  /** A Trailers-Only response carrying the status that {@code httpStatus} maps to and {@code text} as its message. */
  static FullHttpResponse localReply(int httpStatus, String text, boolean close) {
    FullHttpResponse reply = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.EMPTY_BUFFER);
    reply.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
    reply.headers().set(STATUS, fromHttp(httpStatus));
    reply.headers().set(MESSAGE, percentEncode(text.isEmpty() ? HttpResponseStatus.valueOf(httpStatus).reasonPhrase() : text));
    HttpUtil.setContentLength(reply, 0);
    if (close) {
      reply.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return reply;
  }

  /** grpc-message's encoding: printable ASCII except '%' as is, every other byte of the UTF-8 as %XX. */
  static String percentEncode(String text) {
    StringBuilder b = new StringBuilder();
    for (byte c : text.getBytes(StandardCharsets.UTF_8)) {
      if (c >= 0x20 && c <= 0x7e && c != '%') {
        b.append((char) c);
      } else {
        b.append('%').append(String.format("%02X", c & 0xff));
      }
    }
    return b.toString();
  }
}
