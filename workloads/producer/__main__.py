"""Synthetic traffic from inside a cluster: `python -m workloads.producer`.

Produces at the stack's `producer.ratePerSecond` until SIGTERM, authenticated as the
`producer` Kafka user over TLS (workloads/cluster_env.py), and keeps its ground truth of
acknowledged events in $RTAP_GROUND_TRUTH_DIR so a run can be verified afterwards.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

import structlog

from core.logs import configure_logging
from core.settings import SettingsError
from workloads.cluster_env import MissingVariableError, kafka_security, mounted_settings, required
from workloads.producer.ground_truth import GroundTruth
from workloads.producer.producer import EventProducer

log = structlog.get_logger(__name__)


def main(environ: Mapping[str, str] = os.environ) -> int:
    try:
        settings = mounted_settings(environ)
        producer = EventProducer(
            settings=settings.producer,
            limits=settings.events,
            bootstrap=required(environ, "KAFKA_BOOTSTRAP"),
            topic=settings.kafka.events_topic,
            truth=GroundTruth(Path(environ.get("RTAP_GROUND_TRUTH_DIR", "/var/lib/rtap"))),
            extra_config=kafka_security(environ),
        )
    except (MissingVariableError, SettingsError) as exc:
        log.error("cannot start the producer", error=str(exc))
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stats = producer.run(None, stop)
    log.info("producer stopped", acked=stats.acked, failed=stats.failed, seed=producer.seed)
    return 0 if stats.failed == 0 else 1


if __name__ == "__main__":
    configure_logging()
    sys.exit(main())
