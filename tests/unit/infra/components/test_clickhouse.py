"""ClickHouse and Keeper (infra/components/clickhouse.py): replicas and quorum by zone."""

from __future__ import annotations

import pytest

from infra.components.k8s import ZONE_LABEL
from rtap.render import mocks
from rtap.render.program import render
from tests.unit.infra.conftest import PROJECT, Render, of_kind


def test_clickhouse_replicas_of_a_shard_sit_in_distinct_zones(rendered: Render) -> None:
    (chi,) = of_kind(rendered("prod"), "ClickHouseInstallation")
    templates = {t["name"]: t for t in chi["spec"]["templates"]["podTemplates"]}
    (cluster,) = chi["spec"]["configuration"]["clusters"]
    replica_zones = [
        templates[r["templates"]["podTemplate"]]["zone"]["values"]
        for r in cluster["layout"]["replicas"]
    ]
    assert len(replica_zones) == cluster["layout"]["replicasCount"] == 3
    assert all(len(z) == 1 for z in replica_zones)
    assert len({z[0] for z in replica_zones}) == 3
    assert all(t["zone"]["key"] == ZONE_LABEL for t in templates.values())


def test_keeper_is_a_quorum_of_three_one_per_zone(rendered: Render) -> None:
    (keeper,) = of_kind(rendered("prod"), "ClickHouseKeeperInstallation")
    assert keeper["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"] == 3
    spread = keeper["spec"]["templates"]["podTemplates"][0]["spec"]["topologySpreadConstraints"]
    hard = [c for c in spread if c["whenUnsatisfiable"] == "DoNotSchedule"]
    assert hard and hard[0]["topologyKey"] == ZONE_LABEL and hard[0]["maxSkew"] == 1
    (chi,) = of_kind(rendered("prod"), "ClickHouseInstallation")
    assert "keeper-rtap-keeper" in chi["spec"]["configuration"]["zookeeper"]["nodes"][0]["host"]


def test_the_migrations_job_stays_for_pulumi_to_find(rendered: Render) -> None:
    # A TTL would have the cluster delete the finished Job: drift to `pulumi refresh`.
    (job,) = [
        j
        for j in of_kind(rendered("prod"), "Job")
        if j["metadata"]["name"] == "clickhouse-migrations"
    ]
    assert "ttlSecondsAfterFinished" not in job["spec"]


def _task_id() -> str:
    (chi,) = of_kind(render(PROJECT, "dev"), "ClickHouseInstallation")
    return str(chi["spec"]["taskID"])


def test_a_rotated_password_reaches_the_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    # The operator reads the users' Secret only when it reconciles the installation: a new
    # password must change the installation, and nothing else may.
    first, again = _task_id(), _task_id()
    assert first == again and first.startswith("credentials-")
    assert mocks.SECRET_MARKER not in first  # a digest, not the password
    monkeypatch.setattr(mocks, "SECRET_MARKER", "rotated-")
    assert _task_id() != first
