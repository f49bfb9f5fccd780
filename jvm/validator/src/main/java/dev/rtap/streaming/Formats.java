package dev.rtap.streaming;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;

/**
 * Format checks of the event model's string kinds, written out by hand: each accepts
 * exactly what its pattern in workloads/events/model.py matches (a unit test compares
 * them on generated strings), at a tenth of the cost of a regular expression.
 */
final class Formats {
  private static final int UUID_LENGTH = 36;
  private static final int MAX_IDENTIFIER_LENGTH = 128;
  private static final int MAX_OFFSET_MINUTES = 18 * 60;

  private Formats() {}

  /** UUID_PATTERN: 8-4-4-4-12 hex digits, either case. */
  static boolean isUuid(String text) {
    if (text.length() != UUID_LENGTH) {
      return false;
    }
    for (int i = 0; i < UUID_LENGTH; i++) {
      char c = text.charAt(i);
      boolean dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? c != '-' : !isHex(c)) {
        return false;
      }
    }
    return true;
  }

  private static boolean isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  /** IDENTIFIER_PATTERN: an ASCII letter or digit, then up to 127 of those or _.:@- */
  static boolean isIdentifier(String text) {
    int length = text.length();
    if (length == 0 || length > MAX_IDENTIFIER_LENGTH || !isAlphanumeric(text.charAt(0))) {
      return false;
    }
    for (int i = 1; i < length; i++) {
      char c = text.charAt(i);
      if (!isAlphanumeric(c) && c != '_' && c != '.' && c != ':' && c != '@' && c != '-') {
        return false;
      }
    }
    return true;
  }

  private static boolean isAlphanumeric(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }

  /**
   * TIMESTAMP_PATTERN (RFC 3339 with a zone: 2026-03-01T11:59:00.123Z or +01:00), and a
   * real date and time; null otherwise. Digits beyond microseconds are truncated, as
   * Spark's timestamps keep microseconds.
   */
  static Instant parseTimestamp(String text) {
    int length = text.length();
    if (length < 20 || !hasDateTimeShape(text)) {
      return null;
    }
    int position = 19;
    long nanos = 0;
    if (text.charAt(position) == '.') {
      int start = ++position;
      while (position < length && isDigit(text.charAt(position))) {
        position++;
      }
      int digits = position - start;
      if (digits < 1 || digits > 9) {
        return null;
      }
      nanos = Long.parseLong(text, start, position, 10);
      for (int i = digits; i < 9; i++) {
        nanos *= 10;
      }
      nanos -= nanos % 1_000;
    }
    int offsetSeconds = offsetSeconds(text, position);
    if (offsetSeconds == Integer.MIN_VALUE) {
      return null;
    }
    int hour = number(text, 11);
    int minute = number(text, 14);
    int second = number(text, 17);
    if (hour > 23 || minute > 59 || second > 59) {
      return null;
    }
    try {
      long day = LocalDate.of(number4(text), number(text, 5), number(text, 8)).toEpochDay();
      long seconds = day * 86_400L + hour * 3_600L + minute * 60L + second - offsetSeconds;
      return Instant.ofEpochSecond(seconds, nanos);
    } catch (DateTimeException invalidDate) {
      return null;
    }
  }

  private static boolean hasDateTimeShape(String text) {
    String shape = "dddd-dd-ddTdd:dd:dd";
    for (int i = 0; i < shape.length(); i++) {
      char expected = shape.charAt(i);
      char c = text.charAt(i);
      if (expected == 'd' ? !isDigit(c) : c != expected) {
        return false;
      }
    }
    return true;
  }

  /** The zone at `position` (Z or ±HH:MM, ending the text) in seconds, or MIN_VALUE. */
  private static int offsetSeconds(String text, int position) {
    int rest = text.length() - position;
    if (rest < 1) {
      return Integer.MIN_VALUE;
    }
    char sign = text.charAt(position);
    if (sign == 'Z' && rest == 1) {
      return 0;
    }
    if ((sign != '+' && sign != '-') || rest != 6 || text.charAt(position + 3) != ':') {
      return Integer.MIN_VALUE;
    }
    for (int i : new int[] {1, 2, 4, 5}) {
      if (!isDigit(text.charAt(position + i))) {
        return Integer.MIN_VALUE;
      }
    }
    int minutes = number(text, position + 1) * 60 + number(text, position + 4);
    if (minutes > MAX_OFFSET_MINUTES || number(text, position + 4) > 59) {
      return Integer.MIN_VALUE;
    }
    return (sign == '-' ? -minutes : minutes) * 60;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static int number(String text, int at) {
    return (text.charAt(at) - '0') * 10 + (text.charAt(at + 1) - '0');
  }

  private static int number4(String text) {
    return number(text, 0) * 100 + number(text, 2);
  }

  static long micros(Instant instant) {
    return instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1_000;
  }

  /** The first `count` characters (code points, as Spark's substring counts them). */
  static String prefix(String text, int count) {
    if (text.codePointCount(0, text.length()) <= count) {
      return text;
    }
    return text.substring(0, text.offsetByCodePoints(0, count));
  }
}
