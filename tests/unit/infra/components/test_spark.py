"""The streaming job's SparkApplication (infra/components/spark.py), as the Spark operator
will read it."""

from __future__ import annotations

import pytest

from tests.unit.infra.conftest import STACKS, Render, of_kind


@pytest.mark.parametrize("stack", STACKS)
def test_the_driver_keeps_its_stack_size_beside_the_metrics_agent(
    rendered: Render, stack: str
) -> None:
    # With exposeDriverMetrics the operator appends its javaagent to driver.javaOptions
    # and passes that as spark.driver.extraJavaOptions, after the sparkConf: a value set
    # in sparkConf would be replaced (spark-operator v2.2.1 and v2.5.2, monitoring_config.go).
    (app,) = of_kind(rendered(stack), "SparkApplication")
    spec = app["spec"]
    assert spec["monitoring"]["exposeDriverMetrics"] is True
    assert "-Xss8m" in spec["driver"]["javaOptions"].split()
    assert "spark.driver.extraJavaOptions" not in spec["sparkConf"]


def test_driver_and_executors_read_secrets_through_env(rendered: Render) -> None:
    (app,) = of_kind(rendered("prod"), "SparkApplication")
    for role in ("driver", "executor"):
        pod = app["spec"][role]
        assert "envVars" not in pod and "envSecretKeyRefs" not in pod  # deprecated
        env = {e["name"]: e for e in pod["env"]}
        for variable in ("KAFKA_PASSWORD", "CLICKHOUSE_PASSWORD", "REDIS_PASSWORD"):
            assert "secretKeyRef" in env[variable]["valueFrom"], (role, variable)
        assert env["KAFKA_USERNAME"]["value"] == "streaming"


def test_the_job_waits_for_its_topics_users_schema_and_cache(rendered: Render) -> None:
    graph = {node.ref: node for node in rendered("prod").graph}
    job = graph[
        ("kubernetes:sparkoperator.k8s.io/v1beta2:SparkApplication", "streaming-application")
    ]
    components = {name for kind, name in job.depends_on if kind.startswith("rtap:")}
    assert {"kafka", "kafka-access", "clickhouse", "redis"} <= components
    (app,) = of_kind(rendered("prod"), "SparkApplication")
    assert app["metadata"]["annotations"]["pulumi.com/waitFor"].endswith("=RUNNING")


@pytest.mark.parametrize("stack", STACKS)
def test_the_driver_gets_the_lag_scalers_bounds(rendered: Render, stack: str) -> None:
    result = rendered(stack)
    (app,) = of_kind(result, "SparkApplication")
    env = {e["name"]: e.get("value") for e in app["spec"]["driver"]["env"]}
    executor = result.settings.spark.executor
    assert (
        env["RTAP_EXECUTORS_MIN"]
        == str(executor.instances)
        == str(app["spec"]["executor"]["instances"])
    )
    assert env["RTAP_EXECUTORS_MAX"] == str(executor.max_instances)
    # Spark's dynamic allocation would fight the scaler over the executor count.
    assert "spark.dynamicAllocation.enabled" not in app["spec"]["sparkConf"]
    assert "dynamicAllocation" not in app["spec"]
