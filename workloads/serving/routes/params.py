"""Query parameters shared by the REST routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Query

from workloads.events.model import IDENTIFIER_PATTERN

Start = Annotated[
    datetime | None,
    Query(description="Range start, RFC 3339 (no zone means UTC). Default: one hour before end."),
]
End = Annotated[datetime | None, Query(description="Range end, exclusive, RFC 3339. Default: now.")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="`next_cursor` from the previous page, unchanged."),
]
UserId = Annotated[
    str, Path(pattern=IDENTIFIER_PATTERN, max_length=128, description="The user's id.")
]
