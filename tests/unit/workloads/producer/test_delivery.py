"""How delivery reports reach the ground truth (pure logic; no broker involved)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError

from workloads.events import EventLimits
from workloads.producer.generator import RecordBatch, TrafficGenerator
from workloads.producer.ground_truth import GroundTruth, GroundTruthSummary
from workloads.producer.producer import InFlightBatch, ProducerStats
from workloads.producer.settings import ProducerSettings

NOW = 1_790_000_000.0
TIMED_OUT = KafkaError(KafkaError._MSG_TIMED_OUT)
TOO_LARGE = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)


@dataclass
class Report:
    """What a delivery report's message gives the callback: its payload."""

    payload: bytes

    def value(self) -> bytes:
        return self.payload


def _in_flight(
    tmp_path: Path, unfinished: set[InFlightBatch], batch: RecordBatch | None = None
) -> tuple[InFlightBatch, GroundTruth, ProducerStats]:
    """Ten valid records in flight, unless another batch is given."""
    if batch is None:
        batch = TrafficGenerator(ProducerSettings(seed=4), EventLimits()).next_batch(NOW, 10)
    truth, stats = GroundTruth(tmp_path), ProducerStats()
    return InFlightBatch(batch, truth, stats, unfinished), truth, stats


def _report(in_flight: InFlightBatch, payload: bytes, error: KafkaError | None = None) -> None:
    message: Any = Report(payload)
    in_flight.delivered(error, message)


def _stored_ids(tmp_path: Path) -> set[bytes]:
    raw = GroundTruthSummary.load(tmp_path).ids_path.read_bytes()
    return {raw[i : i + 16] for i in range(0, len(raw), 16)}


def test_a_batch_counts_once_all_reports_are_in_and_failures_never(tmp_path: Path) -> None:
    unfinished: set[InFlightBatch] = set()
    in_flight, truth, stats = _in_flight(tmp_path, unfinished)
    batch = in_flight._batch
    for index in (0, 1, 2, 3, 4, 5, 6, 8, 9):
        _report(in_flight, batch.values[index])
    assert truth.valid == 0  # one report is still missing
    _report(in_flight, batch.values[7], TIMED_OUT)
    truth.close()
    assert not unfinished
    assert (stats.acked, stats.failed) == (9, 1)
    loaded = GroundTruthSummary.load(tmp_path)
    assert loaded.valid == 9
    assert loaded.delivery_failures == {"_MSG_TIMED_OUT": 1}
    expected = {batch.event_ids[i].tobytes() for i in range(10) if i != 7}
    assert _stored_ids(tmp_path) == expected  # the failed record is the one left out


def test_a_refused_record_is_a_failure_without_a_report(tmp_path: Path) -> None:
    in_flight, truth, stats = _in_flight(tmp_path, set())
    batch = in_flight._batch
    in_flight.refused(3, TOO_LARGE)
    _report(in_flight, batch.values[5], TIMED_OUT)  # the payload map skips record 3
    for index in (0, 1, 2, 4, 6, 7, 8, 9):
        _report(in_flight, batch.values[index])
    truth.close()
    assert (stats.acked, stats.failed) == (8, 2)
    assert GroundTruthSummary.load(tmp_path).delivery_failures == {
        "MSG_SIZE_TOO_LARGE": 1,
        "_MSG_TIMED_OUT": 1,
    }
    assert batch.event_ids[3].tobytes() not in _stored_ids(tmp_path)
    assert batch.event_ids[5].tobytes() not in _stored_ids(tmp_path)


def test_identical_payloads_fail_one_record_at_a_time(tmp_path: Path) -> None:
    in_flight, truth, stats = _in_flight(tmp_path, set())
    batch = in_flight._batch
    batch.values[5] = batch.values[4]  # as two malformed records can be
    _report(in_flight, batch.values[4], TIMED_OUT)
    _report(in_flight, batch.values[5], TIMED_OUT)
    for index in (0, 1, 2, 3, 6, 7, 8, 9):
        _report(in_flight, batch.values[index])
    truth.close()
    assert (stats.acked, stats.failed) == (8, 2)
    stored = _stored_ids(tmp_path)
    assert len(stored) == 8
    assert not {batch.event_ids[4].tobytes(), batch.event_ids[5].tobytes()} & stored


def test_a_batch_missing_reports_at_close_counts_none_of_its_records(tmp_path: Path) -> None:
    unfinished: set[InFlightBatch] = set()
    in_flight, truth, stats = _in_flight(tmp_path, unfinished)
    batch = in_flight._batch
    for index in range(4):
        _report(in_flight, batch.values[index])
    assert unfinished == {in_flight}
    in_flight.finish()  # which 4 of the 10 were written is unknown
    _report(in_flight, batch.values[4])  # too late: the batch is closed
    truth.close()
    assert not unfinished
    assert stats.acked == 0
    assert GroundTruthSummary.load(tmp_path).valid == 0
