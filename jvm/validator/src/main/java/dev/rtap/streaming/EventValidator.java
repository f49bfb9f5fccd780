package dev.rtap.streaming;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF2;

/**
 * Parses and validates one Kafka record value in a single pass: a Spark UDF of (value
 * bytes, record timestamp in epoch microseconds) returning a struct of the typed event
 * fields followed by the dead-letter reason and detail (both null for a valid event).
 *
 * <p>The fields, their kinds, the event types and the limits come from the Python event
 * model as JSON (workloads/streaming/validator.py), so nothing here names a field. The
 * rules and their precedence are those documented in workloads/streaming/transforms.py;
 * the unit tests run both the reasons and the format checks against the model's
 * patterns. Why Java: the same checks as Spark SQL expressions (from_json, rlike,
 * to_timestamp, CASE chains) cost about 10 µs of CPU per event, the largest single
 * share of the pipeline's CPU.
 */
public final class EventValidator implements UDF2<byte[], Long, Row> {
  private static final long serialVersionUID = 1L;
  private static final JsonFactory JSON =
      JsonFactory.builder().disable(JsonFactory.Feature.INTERN_FIELD_NAMES).build();

  private final Kind[] kinds;
  private final boolean[] required;
  private final Map<String, Integer> positions;
  private final String[] names;
  private final Set<String> eventTypes;
  private final int maxEventBytes;
  private final int maxProperties;
  private final long maxFutureSkewMicros;
  private final long maxAgeMicros;
  private final long maxFutureSkewSeconds;
  private final long maxAgeSeconds;

  /** The field kinds of workloads.events.model.FieldKind, by value. */
  enum Kind {
    UUID,
    TIMESTAMP,
    IDENTIFIER,
    EVENT_TYPE,
    PROPERTIES,
    NUMBER;

    static Kind of(String value) {
      return Kind.valueOf(value.toUpperCase(java.util.Locale.ROOT));
    }
  }

  /** A rule that failed: the record goes to the dead-letter topic for this reason. */
  static final class Rejected extends Exception {
    private static final long serialVersionUID = 1L;
    final String reason;
    final String detail;

    Rejected(String reason, String detail) {
      super(reason, null, false, false);
      this.reason = reason;
      this.detail = detail;
    }
  }

  public EventValidator(String configJson) throws IOException {
    JsonNode config = new ObjectMapper().readTree(configJson);
    JsonNode fields = config.get("fields");
    kinds = new Kind[fields.size()];
    required = new boolean[fields.size()];
    positions = new HashMap<>();
    names = new String[fields.size()];
    for (int i = 0; i < fields.size(); i++) {
      JsonNode field = fields.get(i);
      String name = field.get("name").asText();
      kinds[i] = Kind.of(field.get("kind").asText());
      required[i] = field.get("required").asBoolean();
      positions.put(name, i);
      names[i] = name;
    }
    eventTypes = new HashSet<>();
    config.get("event_types").forEach(type -> eventTypes.add(type.asText()));
    JsonNode limits = config.get("limits");
    maxEventBytes = limits.get("max_event_bytes").asInt();
    maxProperties = limits.get("max_properties").asInt();
    maxFutureSkewSeconds = limits.get("max_future_skew_seconds").asLong();
    maxAgeSeconds = limits.get("max_age_seconds").asLong();
    maxFutureSkewMicros = maxFutureSkewSeconds * 1_000_000L;
    maxAgeMicros = maxAgeSeconds * 1_000_000L;
  }

  @Override
  public Row call(byte[] payload, Long recordMicros) {
    Object[] values = new Object[kinds.length + 2];
    try {
      validate(payload, recordMicros, values);
    } catch (Rejected rejected) {
      return deadLetter(rejected.reason, rejected.detail);
    } catch (RuntimeException bug) {
      // A bug here must not stop the query, nor lose the record: it goes to the
      // dead-letter topic with the error, where it can be found and replayed.
      return deadLetter("invalid_field", "validator error: " + bug);
    }
    return RowFactory.create(values);
  }

  private Row deadLetter(String reason, String detail) {
    Object[] values = new Object[kinds.length + 2];
    values[kinds.length] = reason;
    values[kinds.length + 1] = detail;
    return RowFactory.create(values);
  }

  private void validate(byte[] payload, Long recordMicros, Object[] values) throws Rejected {
    if (payload != null && payload.length > maxEventBytes) {
      throw new Rejected(
          "oversized", String.format("%d bytes > %d", payload.length, maxEventBytes));
    }
    Object[] raw = parse(payload);
    for (int i = 0; i < kinds.length; i++) {
      if (raw[i] == WRONG_TYPE) {
        throw new Rejected("invalid_field", nameAt(i) + ": wrong JSON type");
      }
    }
    for (int i = 0; i < kinds.length; i++) {
      if (required[i] && raw[i] == null) {
        throw new Rejected("missing_field", nameAt(i));
      }
    }
    for (int i = 0; i < kinds.length; i++) {
      values[i] = checked(i, raw[i]);
    }
    checkEventTime(values, recordMicros);
  }

  /** Marks a field whose JSON type its kind cannot take (a string for a number). */
  private static final Object WRONG_TYPE = new Object();

  private String nameAt(int position) {
    return names[position];
  }

  /** Each field's raw value (String, Double, Map, null) or WRONG_TYPE; rejects non-JSON. */
  private Object[] parse(byte[] payload) throws Rejected {
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
        throw new Rejected("not_object", "payload is JSON but not an object");
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        Integer position = positions.get(parser.currentName());
        JsonToken token = parser.nextToken();
        if (position == null) {
          parser.skipChildren();
        } else {
          raw[position] = read(kinds[position], parser, token);
        }
      }
      if (parser.nextToken() != null) {
        throw notJson();
      }
    } catch (JsonProcessingException error) {
      throw notJson();
    } catch (IOException error) {
      throw notJson();
    }
    return raw;
  }

  private static Rejected notJson() {
    return new Rejected("not_json", "payload is not valid JSON");
  }

  private Object read(Kind kind, JsonParser parser, JsonToken token) throws IOException {
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

  private Object checked(int position, Object raw) throws Rejected {
    String name = nameAt(position);
    switch (kinds[position]) {
      case UUID:
        if (raw != null && !Formats.isUuid((String) raw)) {
          throw badFormat(name);
        }
        return raw;
      case IDENTIFIER:
        if (raw != null && !Formats.isIdentifier((String) raw)) {
          throw badFormat(name);
        }
        return raw;
      case TIMESTAMP:
        if (raw == null) {
          return null;
        }
        java.time.Instant instant = Formats.parseTimestamp((String) raw);
        if (instant == null) {
          throw badFormat(name);
        }
        return instant;
      case NUMBER:
        if (raw != null && !Double.isFinite((Double) raw)) {
          throw new Rejected("invalid_field", name + ": not a finite number");
        }
        return raw;
      case EVENT_TYPE:
        if (raw != null && !eventTypes.contains(raw)) {
          throw new Rejected("unknown_event_type", Formats.prefix((String) raw, 64));
        }
        return raw;
      case PROPERTIES:
        @SuppressWarnings("unchecked")
        Map<String, String> map = raw == null ? new HashMap<>() : (Map<String, String>) raw;
        if (map.size() > maxProperties) {
          throw new Rejected(
              "too_many_properties", String.format("%d > %d", map.size(), maxProperties));
        }
        return map;
      default:
        throw new IllegalStateException("unknown kind " + kinds[position]);
    }
  }

  private static Rejected badFormat(String name) {
    return new Rejected("invalid_field", name + ": bad format");
  }

  private void checkEventTime(Object[] values, Long recordMicros) throws Rejected {
    if (recordMicros == null) {
      return;
    }
    for (int i = 0; i < kinds.length; i++) {
      if (kinds[i] != Kind.TIMESTAMP || values[i] == null) {
        continue;
      }
      long micros = Formats.micros((java.time.Instant) values[i]);
      if (micros > recordMicros + maxFutureSkewMicros) {
        throw new Rejected(
            "event_time_in_future",
            String.format("more than %ds after the record timestamp", maxFutureSkewSeconds));
      }
      if (micros < recordMicros - maxAgeMicros) {
        throw new Rejected(
            "event_time_too_old",
            String.format("more than %ds before the record timestamp", maxAgeSeconds));
      }
    }
  }
}
