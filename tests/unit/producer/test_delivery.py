"""How delivery reports reach the ground truth (pure logic; no broker involved)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError

from workloads.events import EventLimits
from workloads.producer.generator import TrafficGenerator
from workloads.producer.ground_truth import GroundTruth, GroundTruthSummary
from workloads.producer.producer import InFlightBatch, ProducerStats
from workloads.producer.settings import ProducerSettings

NOW = 1_790_000_000.0
TIMED_OUT = KafkaError(KafkaError._MSG_TIMED_OUT)
NO_MESSAGE: Any = None  # the callbacks never look at the message


def _in_flight(
    tmp_path: Path, unfinished: set[InFlightBatch]
) -> tuple[InFlightBatch, GroundTruth, ProducerStats]:
    """Ten valid records in flight."""
    batch = TrafficGenerator(ProducerSettings(seed=4), EventLimits()).next_batch(NOW, 10)
    truth, stats = GroundTruth(tmp_path), ProducerStats()
    return InFlightBatch(batch, truth, stats, unfinished), truth, stats


def test_a_batch_counts_once_all_reports_are_in_and_failures_never(tmp_path: Path) -> None:
    in_flight, truth, stats = _in_flight(tmp_path, set())
    for index in range(9):
        in_flight.delivered(index, None, NO_MESSAGE)
    assert truth.valid == 0  # one report is still missing
    in_flight.delivered(9, TIMED_OUT, NO_MESSAGE)
    truth.close()
    assert (stats.acked, stats.failed) == (9, 1)
    loaded = GroundTruthSummary.load(tmp_path)
    assert loaded.valid == 9
    assert loaded.delivery_failures == {"_MSG_TIMED_OUT": 1}


def test_finishing_at_close_counts_only_what_was_delivered(tmp_path: Path) -> None:
    unfinished: set[InFlightBatch] = set()
    in_flight, truth, stats = _in_flight(tmp_path, unfinished)
    for index in range(4):
        in_flight.delivered(index, None, NO_MESSAGE)
    assert unfinished == {in_flight}
    in_flight.finish()
    in_flight.delivered(4, None, NO_MESSAGE)  # too late: the ground truth is closed
    truth.close()
    assert not unfinished
    assert stats.acked == 4
    assert GroundTruthSummary.load(tmp_path).valid == 4
