"""`rtap produce`: the synthetic producer on its own, with a progress bar."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from rtap.local.runs.run import stop_on_signals
from workloads.producer.ground_truth import GroundTruth
from workloads.producer.producer import EventProducer
from workloads.settings import WorkloadSettings


def produce_standalone(
    settings: WorkloadSettings, bootstrap: str, duration_s: float, directory: Path, console: Console
) -> bool:
    """Produce for `duration_s`; True when every record was acknowledged."""
    producer = EventProducer(
        settings=settings.producer,
        limits=settings.events,
        bootstrap=bootstrap,
        topic=settings.kafka.events_topic,
        truth=GroundTruth(directory),
    )
    stop = threading.Event()
    worker = threading.Thread(target=producer.run, args=(duration_s, stop), name="producer")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[acked]:,} acked, {task.fields[rate]:,.0f}/s"),
        TimeRemainingColumn(),
    )
    with stop_on_signals(stop), Progress(*columns, console=console) as progress:
        task = progress.add_task(f"producing to {bootstrap}", total=duration_s, acked=0, rate=0.0)
        worker.start()
        while worker.is_alive():
            worker.join(0.25)
            stats = producer.stats
            elapsed = min(duration_s, max(0.0, _elapsed(stats.started_at)))
            progress.update(task, completed=elapsed, acked=stats.acked, rate=stats.achieved_rate)
    stats = producer.stats
    console.print(
        f"seed {producer.seed}: {stats.acked:,} acknowledged, {stats.failed:,} failed, "
        f"{stats.undelivered_at_close:,} unresolved, {stats.queue_full_waits:,} waits on a "
        f"full queue; ground truth in {directory}"
    )
    return stats.failed == 0 and stats.undelivered_at_close == 0


def _elapsed(started_at: float) -> float:
    return time.time() - started_at if started_at else 0.0
