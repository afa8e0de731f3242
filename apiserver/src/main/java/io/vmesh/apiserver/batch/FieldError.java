package io.vmesh.apiserver.batch;

/**
 * One invalid field, as Kubernetes' {@code field.Error} prints it: {@code spec.completions: Invalid value: -1: must be
 * greater than or equal to 0}. {@code type} is the Kubernetes error type ({@code Required value}, {@code Invalid
 * value}, {@code Unsupported value}, {@code Forbidden}); {@code reason} is its {@code StatusCause} reason.
 */
public record FieldError(String field, String type, String reason, String detail) {

  public static FieldError required(String field, String detail) {
    return new FieldError(field, "Required value", "FieldValueRequired", detail);
  }

  public static FieldError invalid(String field, Object value, String detail) {
    return new FieldError(field, "Invalid value", "FieldValueInvalid", quoted(value) + ": " + detail);
  }

  public static FieldError unsupported(String field, Object value, String... supported) {
    StringBuilder s = new StringBuilder(quoted(value)).append(": supported values: ");
    for (int i = 0; i < supported.length; i++) {
      s.append(i == 0 ? "" : ", ").append('"').append(supported[i]).append('"');
    }
    return new FieldError(field, "Unsupported value", "FieldValueNotSupported", s.toString());
  }

  public static FieldError forbidden(String field, String detail) {
    return new FieldError(field, "Forbidden", "FieldValueForbidden", detail);
  }

  /** {@code field: Type: detail}, what kubectl prints after {@code The Job "x" is invalid:}. */
  public String message() {
    return field + ": " + type + (detail.isEmpty() ? "" : ": " + detail);
  }

  private static String quoted(Object value) {
    return value instanceof String s ? '"' + s + '"' : String.valueOf(value);
  }
}
