"""Checked query inputs: time windows ClickHouse can hold, and user ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from workloads.events.model import IDENTIFIER_PATTERN
from workloads.serving.models import InvalidRequestError, as_utc

# ClickHouse DateTime covers 1970-2106; ranges must fit in it.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2105, 12, 31, tzinfo=UTC)
_USER_ID = re.compile(IDENTIFIER_PATTERN)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def checked(cls, start: datetime, end: datetime, longest: timedelta) -> Window:
        start, end = checked_moment("start", start), checked_moment("end", end)
        if end <= start:
            raise InvalidRequestError("end", "must be after start")
        if end - start > longest:
            raise InvalidRequestError(
                "end", f"the range may span at most {_describe(longest)} for this query"
            )
        return cls(start, end)

    def parameters(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}


def checked_moment(field: str, moment: datetime) -> datetime:
    """`moment` in UTC, if ClickHouse's DateTime can hold it."""
    try:
        utc = as_utc(moment)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 has no UTC equivalent
        raise InvalidRequestError(field, "must be between 1970 and 2105") from None
    if not EARLIEST <= utc <= LATEST:
        raise InvalidRequestError(field, "must be between 1970 and 2105")
    return utc


def check_user_id(user_id: str) -> str:
    if not _USER_ID.fullmatch(user_id):
        raise InvalidRequestError("user_id", "must be 1-128 letters, digits or _.:@-")
    return user_id


def _describe(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours" if hours < 48 else f"{hours / 24:g} days"  # noqa: PLR2004
