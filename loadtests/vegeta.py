"""Open-loop HTTP load with vegeta: constant request rate, so latency includes queueing.

vegeta (Go) is pinned and installed with `go install` into the run directory's tools
when it is not on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from loadtests.errors import BenchmarkError

# v12.13.0: `report -type=json` and `encode --to=csv` formats parsed below.
VEGETA_MODULE = "github.com/tsenart/vegeta/v12@v12.13.0"
_PERCENTILES = {"p50_ms": "50th", "p90_ms": "90th", "p95_ms": "95th", "p99_ms": "99th"}


def vegeta_executable(tools_dir: Path) -> str:
    """vegeta from PATH, Go's bin directory or `tools_dir`; installed there if missing."""
    gopath = Path(os.environ.get("GOPATH", Path.home() / "go"))
    for candidate in (shutil.which("vegeta"), gopath / "bin" / "vegeta", tools_dir / "vegeta"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    go = shutil.which("go")
    if go is None:
        raise BenchmarkError(
            "vegeta (HTTP load generator) is missing and Go is not installed: install Go "
            f"(sudo apt-get install -y golang), or vegeta itself (go install {VEGETA_MODULE})"
        )
    tools_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "install", VEGETA_MODULE],
        env={**os.environ, "GOBIN": str(tools_dir.resolve())},
        check=True,
    )
    return str(tools_dir / "vegeta")


def load_generator_pinning() -> list[str]:
    """`taskset` onto the last core, when there are two or more and taskset exists.

    Left to the scheduler, vegeta's goroutines preempt the API's event loop on both
    cores; measured on 2 cores, that alone took the cached p99 from about 15 ms to
    about 140 ms. With its own core (and GOMAXPROCS=1) the generator stays out of the
    way, as it would on a separate machine.
    """
    cores = os.cpu_count() or 1
    taskset = shutil.which("taskset")
    if cores < 2 or taskset is None:  # noqa: PLR2004
        return []
    return [taskset, "-c", str(cores - 1)]


@dataclass(frozen=True)
class Target:
    path: str
    headers: dict[str, str]


def write_targets(path: Path, base_url: str, targets: list[Target]) -> None:
    """vegeta's HTTP target format: a request line, headers, then a blank line."""
    lines: list[str] = []
    for target in targets:
        lines.append(f"GET {base_url}{target.path}")
        lines += [f"{name}: {value}" for name, value in target.headers.items()]
        lines.append("")
    path.write_text("\n".join(lines) + "\n")


@dataclass(frozen=True)
class LoadReport:
    rate: int
    duration_s: float
    requests: int
    throughput_rps: float
    success_ratio: float
    status_codes: dict[str, int]
    latency_ms: dict[str, float]
    errors: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "duration_s": self.duration_s,
            "requests": self.requests,
            "throughput_rps": self.throughput_rps,
            "success_ratio": self.success_ratio,
            "status_codes": self.status_codes,
            "latency_ms": self.latency_ms,
            "errors": self.errors,
        }


def attack(
    vegeta: str, targets: Path, *, rate: int, duration_s: float, results: Path
) -> LoadReport:
    """Offer `rate` requests/s for `duration_s`; the report of what came back."""
    with results.open("wb") as output:
        subprocess.run(
            [
                *load_generator_pinning(), vegeta, "attack", f"-targets={targets}",
                "-format=http", f"-rate={rate}/1s",
                f"-duration={duration_s}s", "-timeout=10s", "-keepalive=true",
                "-workers=32", "-max-workers=512",
            ],
            stdout=output,
            env={**os.environ, "GOMAXPROCS": "1"},
            check=True,
        )  # fmt: skip
    raw = subprocess.run(
        [vegeta, "report", "-type=json", str(results)], capture_output=True, check=True
    ).stdout
    report = orjson.loads(raw)
    latencies = report["latencies"]
    return LoadReport(
        rate=rate,
        duration_s=duration_s,
        requests=int(report["requests"]),
        throughput_rps=float(report["throughput"]),
        success_ratio=float(report["success"]),
        status_codes={str(k): int(v) for k, v in report["status_codes"].items()},
        latency_ms={
            **{name: latencies[key] / 1e6 for name, key in _PERCENTILES.items()},
            "mean_ms": latencies["mean"] / 1e6,
            "max_ms": latencies["max"] / 1e6,
        },
        errors=list(report.get("errors") or [])[:5],
    )


def latency_series(vegeta: str, results: Path) -> tuple[list[float], list[float]]:
    """(seconds since the first request, latency in ms) for every request."""
    csv = subprocess.run(
        [vegeta, "encode", "--to=csv", str(results)], capture_output=True, check=True, text=True
    ).stdout
    rows = [line.split(",", 3) for line in csv.splitlines() if line]
    if not rows:
        return [], []
    first = min(int(row[0]) for row in rows)
    return [(int(r[0]) - first) / 1e9 for r in rows], [int(r[2]) / 1e6 for r in rows]
