"""The local Prometheus' configuration (rtap/local/processes/monitoring.py): every job
named as the cluster's monitors name it, at the stack's interval."""

from __future__ import annotations

from pathlib import Path

import yaml

from core.stack_config import find_project_dir, load_stack
from infra.monitoring.rules import RULE_FILE_NAME
from rtap.local.paths import RunPaths
from rtap.local.processes.monitoring import KAFKA_INTERVAL_FACTOR, LocalPrometheus
from workloads.settings import WorkloadSettings


def _config(tmp_path: Path, interval: str) -> dict[str, object]:
    overrides = {
        "RTAP_LOCAL__MONITORING_INTERVAL_SECONDS": interval,
        "RTAP_LOCAL__RUN_DIR": str(tmp_path / "run"),
    }
    settings = load_stack(WorkloadSettings, "local", find_project_dir(), environ=overrides)
    prometheus = LocalPrometheus(settings, RunPaths.of(settings, find_project_dir()))
    config: dict[str, object] = yaml.safe_load(prometheus.write_config().read_text())
    return config


def test_rules_and_scrapes_follow_the_interval_and_the_broker_goes_slower(tmp_path: Path) -> None:
    config = _config(tmp_path, "7")
    assert config["global"] == {"scrape_interval": "7s", "evaluation_interval": "7s"}
    jobs = {j["job_name"]: j["scrape_interval"] for j in config["scrape_configs"]}  # type: ignore[attr-defined]
    assert jobs == {
        "rtap-api": "7s",
        "kafka": f"{7 * KAFKA_INTERVAL_FACTOR}s",
        "redis": "7s",
        "prometheus": "7s",
    }
    assert config["rule_files"] == [RULE_FILE_NAME]
    assert (tmp_path / "run" / "prometheus" / RULE_FILE_NAME).is_file()


def test_the_default_interval_spares_ingest(tmp_path: Path) -> None:
    default = WorkloadSettings().local.monitoring_interval_seconds
    assert default >= 10
    assert _config(tmp_path, str(default))["global"] == {
        "scrape_interval": f"{default}s",
        "evaluation_interval": f"{default}s",
    }
