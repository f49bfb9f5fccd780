"""What the producer knows was acknowledged: the reference a run is verified against."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import orjson

from workloads.producer.generator import RecordBatch

IDS_FILE = "acked_event_ids.bin"
SUMMARY_FILE = "ground_truth.json"
_FLUSH_BYTES = 1 << 20


@dataclass
class RollupCell:
    events: int = 0
    value_sum: float = 0.0


@dataclass
class GroundTruth:
    """Counts per event type and minute, malformed counts per reason, and the acked ids.

    Ids of acknowledged valid events are appended to `IDS_FILE` as 16 raw bytes each
    (RFC 4122 byte order), so a multi-million-event run stays small in memory.
    """

    directory: Path
    valid: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    delivery_failures: Counter[str] = field(default_factory=Counter)
    rollups: dict[tuple[str, int], RollupCell] = field(default_factory=dict)
    _ids: bytearray = field(default_factory=bytearray)
    _ids_file: BinaryIO | None = None

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._ids_file = (self.directory / IDS_FILE).open("wb")

    def record_batch(self, batch: RecordBatch, delivered: npt.NDArray[np.bool_]) -> None:
        """Count the records of `batch` whose delivery succeeded (`delivered[i]`)."""
        for index, reason in batch.malformed.items():
            if delivered[index]:
                self.malformed[reason.value] += 1
        valid = delivered & batch.valid_mask
        self.valid += int(valid.sum())
        self._ids += batch.event_ids[valid].tobytes()
        if len(self._ids) >= _FLUSH_BYTES:
            self._flush_ids()
        type_count = len(batch.event_types)
        cells = batch.minute[valid] * type_count + batch.type_index[valid]
        distinct, inverse = np.unique(cells, return_inverse=True)
        events = np.bincount(inverse, minlength=len(distinct))
        sums = np.bincount(inverse, weights=batch.amount[valid], minlength=len(distinct))
        for cell_key, count, total in zip(
            distinct.tolist(), events.tolist(), sums.tolist(), strict=True
        ):
            minute, type_index = divmod(cell_key, type_count)
            key = (batch.event_types[type_index], minute)
            cell = self.rollups.get(key)
            if cell is None:
                cell = self.rollups[key] = RollupCell()
            cell.events += count
            cell.value_sum += total

    def record_failure(self, error: str) -> None:
        self.delivery_failures[error] += 1

    @property
    def produced(self) -> int:
        return self.valid + sum(self.malformed.values())

    def close(self) -> None:
        """Flush ids and write the summary; the directory is then complete."""
        self._flush_ids()
        if self._ids_file is not None:
            self._ids_file.close()
            self._ids_file = None
        summary = {
            "valid": self.valid,
            "malformed": dict(self.malformed),
            "delivery_failures": dict(self.delivery_failures),
            "rollups": [
                [event_type, minute, cell.events, cell.value_sum]
                for (event_type, minute), cell in sorted(self.rollups.items())
            ],
        }
        (self.directory / SUMMARY_FILE).write_bytes(orjson.dumps(summary))

    def _flush_ids(self) -> None:
        if self._ids and self._ids_file is not None:
            self._ids_file.write(self._ids)
            self._ids_file.flush()
            self._ids.clear()


@dataclass(frozen=True)
class GroundTruthSummary:
    """A closed ground-truth directory, read back."""

    directory: Path
    valid: int
    malformed: dict[str, int]
    delivery_failures: dict[str, int]
    rollups: dict[tuple[str, int], RollupCell]

    @property
    def ids_path(self) -> Path:
        return self.directory / IDS_FILE

    @classmethod
    def load(cls, directory: Path) -> GroundTruthSummary:
        raw = orjson.loads((directory / SUMMARY_FILE).read_bytes())
        return cls(
            directory=directory,
            valid=int(raw["valid"]),
            malformed={str(k): int(v) for k, v in raw["malformed"].items()},
            delivery_failures={str(k): int(v) for k, v in raw["delivery_failures"].items()},
            rollups={
                (str(t), int(m)): RollupCell(int(n), float(s)) for t, m, n, s in raw["rollups"]
            },
        )


def sums_match(expected: float, actual: float) -> bool:
    """Float sums agree up to summation order (rollups add in a different order)."""
    return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-6)
