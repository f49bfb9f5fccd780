"""How many closed-model viewers each shape runs at each moment, and which part of a
run is its steady part (where the sustained-rate line is judged). Pure."""

from __future__ import annotations

import math

# The start of a run (users spawning, connections opening, caches filling) is not its
# steady part, nor are its last seconds (the last answers draining).
_SETTLE_S = 10.0
_DRAIN_S = 2.0
# A spike: the base load is this share of the peak; the peak holds for the middle fifth.
_SPIKE_BASE = 0.2
_SPIKE_FROM, _SPIKE_TO = 0.4, 0.6


def viewers_at(shape: str, elapsed_s: float, duration_s: float, peak: int) -> int | None:
    """Closed-model viewers wanted `elapsed_s` into the run; None once it is over.

    ramp climbs to `peak` over the first half and holds it; spike holds a fifth of it
    and jumps to the peak for the middle fifth; soak holds the peak; the open model has
    no viewers (its arrivals come at a rate instead)."""
    if elapsed_s >= duration_s:
        return None
    if shape == "open":
        return 0
    if shape == "soak":
        return peak
    if shape == "ramp":
        return max(1, math.ceil(peak * min(1.0, elapsed_s / (duration_s / 2))))
    if shape == "spike":
        spiking = _SPIKE_FROM * duration_s <= elapsed_s < _SPIKE_TO * duration_s
        return peak if spiking else max(1, round(peak * _SPIKE_BASE))
    raise ValueError(f"no load shape named {shape!r}")


def steady_window(shape: str, start: float, duration_s: float) -> tuple[float, float]:
    """The (from, to) of the run's steady part: after the ramp for ramp, after settling
    for the others, always before the drain."""
    settle = duration_s / 2 if shape == "ramp" else min(_SETTLE_S, duration_s / 4)
    return start + settle, start + duration_s - _DRAIN_S
