"""A picture of a local run as its Prometheus recorded it: events in and stored, the
streaming job's lag, freshness, and the alerts firing. Grafana does not run locally;
this draws the pipeline dashboard's main panels from the same series.

    python -m rtap.local.runs.prometheus_plot --minutes 10 --out docs/img/local-prometheus.png
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import httpx

from core.stack_config import find_project_dir, load_stack
from loadtests.plots import pyplot
from workloads import telemetry as t
from workloads.settings import WorkloadSettings

PANELS = (
    (
        "events per second",
        {
            "in (topic log end)": f"sum(rate({t.LOG_END_OFFSET}[20s]))",
            "stored (ClickHouse)": f"sum(rate({t.counter(t.EVENTS_STORED)}[20s]))",
        },
    ),
    ("lag (records)", {"lag": f"sum({t.LAG})"}),
    (
        "freshness (s)",
        {
            "p50": f"histogram_quantile(0.5, sum by (le) (rate({t.FRESHNESS}_bucket[20s])))",
            "p95": f"histogram_quantile(0.95, sum by (le) (rate({t.FRESHNESS}_bucket[20s])))",
        },
    ),
    ("alerts firing", {"firing": 'count(ALERTS{alertstate="firing"}) or vector(0)'}),
)


def series(url: str, query: str, start: float, end: float) -> tuple[list[float], list[float]]:
    params: dict[str, str | float] = {"query": query, "start": start, "end": end, "step": 2}
    result = httpx.get(f"{url}/api/v1/query_range", params=params, timeout=30).json()
    found: list[dict[str, Any]] = result["data"]["result"]
    if not found:
        return [], []
    values = found[0]["values"]
    return [float(ts) - start for ts, _ in values], [float(v) for _, v in values]


def draw(settings: WorkloadSettings, minutes: float, out: Path) -> Path:
    url = f"http://127.0.0.1:{settings.local.prometheus_port}"
    end = time.time()
    start = end - 60 * minutes
    plt = pyplot()
    figure, axes = plt.subplots(len(PANELS), 1, figsize=(10, 2.6 * len(PANELS)), sharex=True)
    for axis, (title, queries) in zip(axes, PANELS, strict=True):
        for label, query in queries.items():
            xs, ys = series(url, query, start, end)
            axis.plot(xs, ys, label=label)
        if title.startswith("freshness"):
            axis.axhline(
                settings.sla.freshness_p95_seconds, color="grey", linestyle="--", label="SLA p95"
            )
        axis.set_title(title, loc="left")
        axis.legend(loc="upper right")
        axis.grid(alpha=0.3)
    axes[-1].set_xlabel("seconds")
    figure.suptitle("rtap local run, as the local Prometheus recorded it")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--stack", default="local")
    parser.add_argument("--out", type=Path, default=Path("local-prometheus.png"))
    args = parser.parse_args()
    settings = load_stack(WorkloadSettings, args.stack, find_project_dir())
    draw(settings, args.minutes, args.out)


if __name__ == "__main__":
    main()
