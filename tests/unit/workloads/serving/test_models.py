"""Cursors, time windows and timestamps: the pure parts of the query layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from workloads.serving.models import InvalidRequestError, as_utc, decode_cursor, encode_cursor
from workloads.serving.windows import Window, check_user_id

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_cursor_round_trips_its_values() -> None:
    values = [42, "user-7", "2026-11-26T12:00:00+00:00"]
    assert decode_cursor(encode_cursor(values), arity=3) == values


# "e30" is `{}` encoded: valid JSON, but not a list.
@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", encode_cursor([1]), "e30"])
def test_malformed_cursor_names_the_field(cursor: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        decode_cursor(cursor, arity=2)
    assert raised.value.field == "cursor"


def test_window_accepts_a_range_within_the_limit() -> None:
    window = Window.checked(START, START + timedelta(hours=1), timedelta(hours=2))
    assert window.parameters() == {"start": START, "end": START + timedelta(hours=1)}


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (START, START, "end"),  # empty
        (START, START - timedelta(minutes=1), "end"),  # inverted
        (START, START + timedelta(hours=3), "end"),  # longer than the limit
        (datetime(1960, 1, 1, tzinfo=UTC), START, "start"),  # before DateTime's range
        (START, datetime(2200, 1, 1, tzinfo=UTC), "end"),  # after it
        # No UTC equivalent at all: converting overflows.
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), START, "start"),
        (START, datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))), "end"),
    ],
)
def test_bad_windows_name_the_field(start: datetime, end: datetime, field: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        Window.checked(start, end, timedelta(hours=2))
    assert raised.value.field == field


def test_timestamps_without_a_zone_are_utc_and_others_are_converted() -> None:
    assert as_utc(datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    plus_two = datetime(2026, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(plus_two).hour == 12 and as_utc(plus_two).tzinfo == UTC


@pytest.mark.parametrize("user_id", ["", "a" * 200, "user 1", "u;DROP TABLE", "é"])
def test_malformed_user_ids_are_rejected(user_id: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        check_user_id(user_id)
    assert raised.value.field == "user_id"


def test_well_formed_user_id_passes() -> None:
    assert check_user_id("user-000042") == "user-000042"
