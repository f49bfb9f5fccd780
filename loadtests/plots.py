"""Plots of the benchmarks, drawn off-screen."""

from __future__ import annotations

from typing import Any


def pyplot() -> Any:
    """matplotlib's pyplot on the off-screen Agg backend.

    Imported on first use: it takes about half a second, and only a finished benchmark
    draws.
    """
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt
