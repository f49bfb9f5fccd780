"""Load tests and benchmarks: drivers that put load on the platform and measure it.

`ingest` offers events at a constant rate to a running platform and reports throughput,
freshness and where the CPU went; `api` offers dashboard requests at a constant rate
(vegeta, an open loop) to the API alone and reports latency, cached and uncached. Both
write their figures and a plot into a run directory and, when asked, a row to the
benchmark history (`history`). Benchmarks report; they never pass or fail on a timing.

This package imports the workloads and the core only: the CLI (`rtap bench`) hands it
the running platform through the small interfaces each driver declares.
"""

from pathlib import Path

# The Locust suite (`rtap loadtest`, and `python -m loadtests` in the pods of rtap:loadtest).
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
