"""ClickHouse and Keeper (infra/components/clickhouse.py): replicas and quorum by zone."""

from __future__ import annotations

import pytest

from infra.components.k8s import CLICKHOUSE_CREDENTIALS, ZONE_LABEL
from rtap.render import mocks
from rtap.render.program import Rendered, render
from tests.unit.infra.conftest import PROJECT, Render, of_kind, render_once


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


def _credentials_everywhere(result: Rendered) -> dict[str, str]:
    """The version of the users' passwords as the installation and each client carry it."""
    (chi,) = of_kind(result, "ClickHouseInstallation")
    found = {"installation taskID": str(chi["spec"]["taskID"])}
    for obj in of_kind(result, "Deployment") + of_kind(result, "Job"):
        annotations = obj["spec"]["template"]["metadata"].get("annotations", {})
        if CLICKHOUSE_CREDENTIALS in annotations:
            found[obj["metadata"]["name"]] = annotations[CLICKHOUSE_CREDENTIALS]
    (app,) = of_kind(result, "SparkApplication")
    for role in ("driver", "executor"):
        found[f"spark {role}"] = app["spec"][role]["annotations"][CLICKHOUSE_CREDENTIALS]
    return found


def test_a_rotated_password_reaches_the_servers_and_every_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The operator reads the users' Secret only when it reconciles the installation, and
    # a client reads its password only when its pod starts: a new password must change
    # the installation and roll every client, and nothing else may.
    first = _credentials_everywhere(render_once("dev"))
    assert set(first) == {
        "installation taskID", "rtap-api", "clickhouse-migrations", "spark driver",
        "spark executor",
    }  # fmt: skip
    version = first["installation taskID"]
    assert version.startswith("credentials-") and set(first.values()) == {version}
    assert _credentials_everywhere(render(PROJECT, "dev")) == first
    monkeypatch.setattr(mocks, "SECRET_MARKER", "rotated-")
    rotated = _credentials_everywhere(render(PROJECT, "dev"))
    assert len(set(rotated.values())) == 1 and rotated["rtap-api"] != version
