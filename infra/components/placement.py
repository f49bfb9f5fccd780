"""How many pods of a zonal workload go to each zone."""

from __future__ import annotations

from collections.abc import Sequence


def per_zone(count: int, zones: Sequence[str]) -> dict[str, int]:
    """`count` pods over `zones`, as evenly as possible, earlier zones first; zones that
    get none are left out."""
    base, extra = divmod(count, len(zones))
    spread = {zone: base + (1 if index < extra else 0) for index, zone in enumerate(zones)}
    return {zone: n for zone, n in spread.items() if n}
