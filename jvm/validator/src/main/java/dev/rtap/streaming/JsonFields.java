package dev.rtap.streaming;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the event fields out of a JSON payload in one streaming pass (Jackson, straight
 * from the bytes): each field's raw value as its kind takes it, WRONG_TYPE where the
 * kind cannot take the JSON value, or null when absent or null. Unknown fields are
 * skipped. Anything but exactly one JSON object is rejected.
 */
final class JsonFields implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final JsonFactory JSON =
      JsonFactory.builder().disable(JsonFactory.Feature.INTERN_FIELD_NAMES).build();

  /** Marks a field whose JSON type its kind cannot take (a string for a number). */
  static final Object WRONG_TYPE = new Object();

  private final Map<String, Integer> positions;
  private final EventValidator.Kind[] kinds;
  private final EventValidator.Reasons reasons;

  JsonFields(
      Map<String, Integer> positions,
      EventValidator.Kind[] kinds,
      EventValidator.Reasons reasons) {
    this.positions = positions;
    this.kinds = kinds;
    this.reasons = reasons;
  }

  /** Each field's raw value (String, Double, Map, null) or WRONG_TYPE; rejects non-JSON. */
  Object[] read(byte[] payload) throws EventValidator.Rejected {
    if (payload == null || payload.length == 0) {
      throw notJson();
    }
    Object[] raw = new Object[kinds.length];
    try (JsonParser parser = JSON.createParser(payload)) {
      JsonToken root = parser.nextToken();
      if (root != JsonToken.START_OBJECT) {
        parser.skipChildren();
        if (root == null || parser.nextToken() != null) {
          throw notJson();
        }
        throw new EventValidator.Rejected(reasons.notObject, "payload is JSON but not an object");
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        Integer position = positions.get(parser.currentName());
        JsonToken token = parser.nextToken();
        if (position == null) {
          parser.skipChildren();
        } else {
          raw[position] = value(kinds[position], parser, token);
        }
      }
      if (parser.nextToken() != null) {
        throw notJson();
      }
    } catch (IOException notParsed) {
      throw notJson();
    }
    return raw;
  }

  private EventValidator.Rejected notJson() {
    return new EventValidator.Rejected(reasons.notJson, "payload is not valid JSON");
  }

  private static Object value(EventValidator.Kind kind, JsonParser parser, JsonToken token)
      throws IOException {
    if (token == JsonToken.VALUE_NULL) {
      return null;
    }
    switch (kind) {
      case NUMBER:
        if (token == JsonToken.VALUE_NUMBER_INT || token == JsonToken.VALUE_NUMBER_FLOAT) {
          return parser.getDoubleValue();
        }
        parser.skipChildren();
        return WRONG_TYPE;
      case PROPERTIES:
        if (token != JsonToken.START_OBJECT) {
          parser.skipChildren();
          return WRONG_TYPE;
        }
        return readMap(parser);
      default:
        return text(parser, token);
    }
  }

  /** A string as is; any other JSON value as its JSON text (Spark's lenient reading). */
  private static String text(JsonParser parser, JsonToken token) throws IOException {
    if (token == JsonToken.VALUE_STRING) {
      return parser.getText();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator generator = JSON.createGenerator(out)) {
      generator.copyCurrentStructure(parser);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private static Map<String, String> readMap(JsonParser parser) throws IOException {
    Map<String, String> map = new LinkedHashMap<>();
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String key = parser.currentName();
      JsonToken token = parser.nextToken();
      map.put(key, token == JsonToken.VALUE_NULL ? null : text(parser, token));
    }
    return map;
  }
}
