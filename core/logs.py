"""Structured logging: JSON lines, to a stream or a file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

import orjson
import structlog
from structlog.typing import Processor


def _json_renderer() -> structlog.processors.JSONRenderer:
    # orjson: the API writes one line per request, and the standard json module made
    # rendering it a visible share of a cached answer's time. Non-string keys (Kafka
    # partitions) become strings, as the json module would make them.
    return structlog.processors.JSONRenderer(
        serializer=lambda event, **_: orjson.dumps(
            event, default=repr, option=orjson.OPT_NON_STR_KEYS
        ).decode()
    )


def configure_logging(destination: Path | None = None, level: int = logging.INFO) -> None:
    """JSON logs with timestamps, to `destination` (appended) or stderr.

    Standard-library loggers (uvicorn, py4j) go through the same JSON renderer.
    """
    stream: TextIO = destination.open("a", buffering=1) if destination else sys.stderr
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _json_renderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _json_renderer(),
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # py4j logs every gateway call at INFO.
    logging.getLogger("py4j").setLevel(logging.WARNING)
