"""The live view `rtap up` shows while the pipeline runs."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from rtap.local.platform.control_client import ControlClient, ControlError
from rtap.local.processes.monitoring import ActiveAlert
from rtap.local.processes.supervisor import CRASH_LOOP, RUNNING, Supervisor
from workloads.producer.producer import ProducerStats
from workloads.settings import SlaSettings
from workloads.streaming.metrics import LatencyHistogram

_WINDOW_S = 10.0
# The view renders several times a second; Prometheus evaluates every 2 s.
ALERTS_EVERY_S = 5.0
_MIN_SAMPLES = 2


class LiveView:
    """Polls the platform once per render; rates and freshness cover the last 10 s."""

    def __init__(
        self,
        control: ControlClient,
        sla: SlaSettings,
        supervisor: Supervisor | None = None,
        alerts: Callable[[], list[ActiveAlert] | None] | None = None,
    ) -> None:
        self._alerts = _every(ALERTS_EVERY_S, alerts or (lambda: None))
        self._control = control
        self._sla = sla
        self._supervisor = supervisor
        self._history: deque[tuple[float, int, int, LatencyHistogram]] = deque()
        self.producer: ProducerStats | None = None

    def render(self) -> Panel:
        try:
            stats = self._control.stats()
        except ControlError as exc:
            message = Text(f"platform not answering: {exc}", style="red")
            return Panel(Group(message, *self._components_table()), title="rtap")
        now = time.time()
        produced = self.producer.acked if self.producer else 0
        self._history.append(
            (
                now,
                produced,
                int(stats["rows_stored"]),
                LatencyHistogram.from_list(stats["freshness_histogram"]),
            )
        )
        while len(self._history) > _MIN_SAMPLES and now - self._history[0][0] > _WINDOW_S:
            self._history.popleft()
        return Panel(
            Group(
                self._pipeline_table(stats),
                self._queries_table(stats),
                *self._components_table(),
                *alerts_table(self._alerts()),
            ),
            title="rtap — local platform",
            subtitle="Ctrl-C stops",
        )

    def _pipeline_table(self, stats: dict[str, Any]) -> Table:
        first, last = self._history[0], self._history[-1]
        elapsed = max(last[0] - first[0], 1e-9)
        recent = last[3].minus(first[3]) if len(self._history) > 1 else last[3]
        table = Table(show_header=True, header_style="bold", expand=True)
        for column in (
            "produced/s",
            "stored/s",
            "rows in ClickHouse",
            "freshness p50 / p95 / p99",
            "last batch",
            "dead letters",
        ):
            table.add_column(column, justify="right")
        last_batch = stats.get("last_batch") or {}
        batch_s = sum((last_batch.get("stages_s") or {}).values())
        table.add_row(
            f"{(last[1] - first[1]) / elapsed:,.0f}",
            f"{(last[2] - first[2]) / elapsed:,.0f}",
            f"{stats.get('clickhouse_rows', 0):,}",
            self._freshness(recent),
            f"{last_batch.get('rows', 0):,} rows in {batch_s * 1000:,.0f} ms",
            f"{stats['dead_letters_written']:,}",
        )
        return table

    def _freshness(self, histogram: LatencyHistogram) -> Text:
        values = [histogram.quantile(q) for q in (0.5, 0.95, 0.99)]
        if values[1] is None:
            return Text("—")
        text = " / ".join(f"{v:.2f}s" for v in values if v is not None)
        within = values[1] <= self._sla.freshness_p95_seconds
        return Text(text, style="green" if within else "yellow")

    @staticmethod
    def _queries_table(stats: dict[str, Any]) -> Table:
        table = Table(show_header=True, header_style="bold", expand=True)
        for column in ("query", "state", "restarts", "last error"):
            table.add_column(column)
        for name, query in sorted(stats.get("queries", {}).items()):
            state = Text("running", "green") if query["active"] else Text("restarting", "yellow")
            table.add_row(name, state, str(query["restarts"]), (query["last_error"] or "")[:80])
        return table

    def _components_table(self) -> list[Table]:
        """The components that died during the run; nothing while none did."""
        states = self._supervisor.snapshot() if self._supervisor else {}
        troubled = {n: s for n, s in states.items() if s.restarts or s.state != RUNNING}
        if not troubled:
            return []
        table = Table(show_header=True, header_style="bold", expand=True)
        for column in ("component", "state", "restarts", "last failure"):
            table.add_column(column)
        for name, state in troubled.items():
            style = {RUNNING: "green", CRASH_LOOP: "red"}.get(state.state, "yellow")
            table.add_row(name, Text(state.state, style), str(state.restarts), state.last_failure)
        return [table]


def alerts_table(alerts: list[ActiveAlert] | None) -> list[Table | Text]:
    """The local Prometheus' pending and firing alerts, or a line saying there are none."""
    if alerts is None:
        return [Text("alerts: Prometheus is not answering", "yellow")]
    if not alerts:
        return [Text("alerts: none firing", "green")]
    table = Table(show_header=True, header_style="bold", expand=True, title="alerts")
    for column in ("alert", "state", "severity", "summary"):
        table.add_column(column)
    for alert in alerts:
        style = "red" if alert.state == "firing" else "yellow"
        table.add_row(alert.name, Text(alert.state, style), alert.severity, alert.summary)
    return [table]


def _every(
    seconds: float, read: Callable[[], list[ActiveAlert] | None]
) -> Callable[[], list[ActiveAlert] | None]:
    """`read`, called at most once per `seconds`; the last answer in between."""
    last: list[list[ActiveAlert] | None] = [None]
    read_at = [-seconds]

    def cached() -> list[ActiveAlert] | None:
        if time.monotonic() - read_at[0] >= seconds:
            last[0], read_at[0] = read(), time.monotonic()
        return last[0]

    return cached
