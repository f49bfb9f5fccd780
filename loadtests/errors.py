"""The one error a benchmark raises on its own account."""

from __future__ import annotations


class BenchmarkError(RuntimeError):
    """A benchmark cannot run: a tool is missing or its target did not start. The message
    says what to install or where the log is."""
