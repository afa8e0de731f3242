package io.vmesh.proxy.accesslog;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.vmesh.proxy.accesslog.AccessLog.Entry;
import io.vmesh.proxy.config.ConfigException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Envoy's {@code log_format.json_format}: one JSON object per line, with the keys of the configured
 * struct in order; a string value is a format string ({@link AccessLogFormat}) printed as a JSON string,
 * a nested struct a nested object, numbers and booleans as given.
 */
public final class JsonAccessLogFormat {

  private static final ObjectMapper JSON = new ObjectMapper();

  // by key: an AccessLogFormat, a nested JsonAccessLogFormat, or a literal Value
  private final Map<String, Object> fields;

  private JsonAccessLogFormat(Map<String, Object> fields) {
    this.fields = fields;
  }

  /**
   * The format of {@code struct}; each problem (an unknown operator, a list value) is added naming
   * {@code at.KEY}. Returns null when there was any.
   */
  public static JsonAccessLogFormat parse(Struct struct, String at, List<String> problems) {
    int before = problems.size();
    Map<String, Object> fields = new LinkedHashMap<>();
    struct.getFieldsMap().forEach((key, value) -> {
      String kat = at + "." + key;
      switch (value.getKindCase()) {
        case STRING_VALUE -> {
          try {
            fields.put(key, AccessLogFormat.parse(value.getStringValue()));
          } catch (IllegalArgumentException e) {
            problems.add(ConfigException.at(kat, e.getMessage()));
          }
        }
        case STRUCT_VALUE -> fields.put(key, parse(value.getStructValue(), kat, problems));
        case NUMBER_VALUE, BOOL_VALUE, NULL_VALUE -> fields.put(key, value);
        default -> problems.add(ConfigException.at(kat, "a value must be a format string, a number, a boolean or an object"));
      }
    });
    return problems.size() == before ? new JsonAccessLogFormat(fields) : null;
  }

  public String format(Entry e) {
    try {
      return JSON.writeValueAsString(object(e));
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException("a tree of strings, numbers and booleans always serializes", ex);
    }
  }

  private ObjectNode object(Entry e) {
    ObjectNode o = JSON.createObjectNode();
    fields.forEach((key, f) -> {
      if (f instanceof AccessLogFormat text) {
        o.put(key, text.format(e));
      } else if (f instanceof JsonAccessLogFormat nested) {
        o.set(key, nested.object(e));
      } else {
        Value v = (Value) f;
        switch (v.getKindCase()) {
          case NUMBER_VALUE -> o.put(key, v.getNumberValue());
          case BOOL_VALUE -> o.put(key, v.getBoolValue());
          default -> o.putNull(key);
        }
      }
    });
    return o;
  }
}
