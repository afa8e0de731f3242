package io.vmesh.apiserver.table;

import com.jayway.jsonpath.Configuration;
import com.jayway.jsonpath.InvalidPathException;
import com.jayway.jsonpath.JsonPath;
import com.jayway.jsonpath.Option;
import com.jayway.jsonpath.spi.json.JacksonJsonProvider;
import com.jayway.jsonpath.spi.mapper.JacksonMappingProvider;
import java.util.List;

/**
 * A Kubernetes JSONPath expression of a printer column ({@code .status.conditions[?(@.type=="Ready")].status}),
 * evaluated with Jayway JSONPath.
 */
public final class ColumnPath {

  private static final Configuration JSON = Configuration.builder()
      .jsonProvider(new JacksonJsonProvider())
      .mappingProvider(new JacksonMappingProvider())
      .options(Option.SUPPRESS_EXCEPTIONS)
      .build();

  private final String kubernetes;
  private final JsonPath compiled;

  private ColumnPath(String kubernetes, JsonPath compiled) {
    this.kubernetes = kubernetes;
    this.compiled = compiled;
  }

  /** Compiles a Kubernetes JSONPath; throws {@link IllegalArgumentException} when Jayway cannot read it. */
  public static ColumnPath of(String kubernetesPath) {
    String jayway = toJayway(kubernetesPath);
    try {
      return new ColumnPath(kubernetesPath, JsonPath.compile(jayway));
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("bad JSONPath " + kubernetesPath + " (as " + jayway + "): " + e.getMessage(), e);
    }
  }

  /**
   * Rewrites Kubernetes syntax into Jayway's: strip {@code {}}, prefix {@code $}, and turn keys with escaped dots
   * ({@code .metadata.labels.app\.kubernetes\.io/name}) into bracket notation.
   */
  static String toJayway(String kubernetesPath) {
    String p = kubernetesPath.trim();
    if (p.startsWith("{") && p.endsWith("}")) {
      p = p.substring(1, p.length() - 1).trim();
    }
    if (p.startsWith("$")) {
      p = p.substring(1);
    }
    StringBuilder out = new StringBuilder("$");
    int i = 0;
    while (i < p.length()) {
      char c = p.charAt(i);
      if (c == '[') {
        int end = closingBracket(p, i);
        out.append(p, i, end + 1);
        i = end + 1;
      } else if (c == '.') {
        i++;
      } else {
        StringBuilder key = new StringBuilder();
        boolean escaped = false;
        while (i < p.length() && p.charAt(i) != '.' && p.charAt(i) != '[') {
          if (p.charAt(i) == '\\' && i + 1 < p.length()) {
            key.append(p.charAt(i + 1));
            i += 2;
            escaped = true;
          } else {
            key.append(p.charAt(i++));
          }
        }
        if (escaped || !key.toString().matches("[A-Za-z0-9_*-]+")) {
          out.append("['").append(key.toString().replace("'", "\\'")).append("']");
        } else {
          out.append('.').append(key);
        }
      }
    }
    return out.toString();
  }

  private static int closingBracket(String p, int open) {
    int depth = 0;
    char quote = 0;
    for (int i = open; i < p.length(); i++) {
      char c = p.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        }
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '[') {
        depth++;
      } else if (c == ']' && --depth == 0) {
        return i;
      }
    }
    throw new IllegalArgumentException("unclosed [ in JSONPath " + p);
  }

  /**
   * The value at this path in {@code object} (maps and lists as Jackson reads them): null when absent; the first
   * match for a filter that selects several.
   */
  public Object read(Object object) {
    Object value = compiled.read(object, JSON);
    if (value instanceof List<?> list && !compiled.isDefinite()) {
      return list.isEmpty() ? null : list.get(0);
    }
    return value;
  }

  @Override
  public String toString() {
    return kubernetes;
  }
}
