"""The Kafka ACLs the Pulumi program declares are the ones the workloads need: each
workload, run for real against a broker that enforces ACLs, under its own SCRAM user and
exactly the ACLs of its KafkaUser in the rendered dev stack.

The broker runs Kafka's StandardAuthorizer, as Strimzi's `authorization: simple` does.
Take away any one ACL a tested path uses and that path fails (the last tests): the
producer's on the events topic, the job's source's on it, and each of the dead-letter
writer's (its topic, its progress topic, its transactional id, its reader group).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from pyspark.errors import StreamingQueryException
from pyspark.sql import SparkSession

from core.stack_config import find_project_dir
from rtap.render.program import Rendered, render
from tests.integration.connect import running_worker, worker_properties
from tests.integration.registry import local_environment, running_registry
from tests.integration.secure_kafka import SecureBroker, secure_broker
from workloads.cluster_env import kafka_security, spark_kafka_options
from workloads.events.model import EventLimits
from workloads.kafka import client_config
from workloads.producer.ground_truth import GroundTruth
from workloads.producer.producer import EventProducer
from workloads.producer.settings import ProducerSettings
from workloads.streaming.assembly import start_dead_letters
from workloads.streaming.dead_letters import DeadLetter, count_dead_letters
from workloads.streaming.job import StreamingJob
from workloads.streaming.metrics import BatchRecord, PipelineMetrics
from workloads.streaming.settings import StreamingSettings
from workloads.streaming.spark_session import JobEnvironment

_SOURCE_OFFSETS = itertools.count(int(time.time() * 1_000_000))
_RESOURCES = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    "cluster": ResourceType.BROKER,
    "transactionalId": ResourceType.TRANSACTIONAL_ID,
}
_PATTERNS = {"literal": ResourcePatternType.LITERAL, "prefix": ResourcePatternType.PREFIXED}
_OPERATIONS = {
    "Read": AclOperation.READ,
    "Write": AclOperation.WRITE,
    "Create": AclOperation.CREATE,
    "Describe": AclOperation.DESCRIBE,
    "DescribeConfigs": AclOperation.DESCRIBE_CONFIGS,
    "IdempotentWrite": AclOperation.IDEMPOTENT_WRITE,
}


@dataclass(frozen=True)
class Cluster:
    broker: SecureBroker
    rendered: Rendered
    passwords: dict[str, str]

    def security(self, user: str) -> dict[str, Any]:
        return kafka_security(self.broker.environ(user, self.passwords[user]))

    @property
    def admin(self) -> AdminClient:
        return AdminClient(client_config(self.broker.internal))


def declared_acls(rendered: Rendered) -> list[AclBinding]:
    """Every ACL of every KafkaUser the program declares, as the broker stores them."""
    bindings = []
    for user in (m for m in rendered.manifests if m["kind"] == "KafkaUser"):
        principal = f"User:{user['metadata']['name']}"
        for acl in user["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            for operation in acl["operations"]:
                bindings.append(
                    AclBinding(
                        _RESOURCES[resource["type"]],
                        resource["name"],
                        _PATTERNS[resource.get("patternType", "literal")],
                        principal,
                        acl.get("host", "*"),
                        _OPERATIONS[operation],
                        AclPermissionType.ALLOW,
                    )
                )
    return bindings


def _create_topics(admin: AdminClient, rendered: Rendered) -> None:
    topics = [
        NewTopic(
            m["spec"]["topicName"],
            num_partitions=m["spec"]["partitions"],
            replication_factor=1,
            config={
                k: str(v) for k, v in m["spec"]["config"].items() if k != "min.insync.replicas"
            },
        )
        for m in rendered.manifests
        if m["kind"] == "KafkaTopic"
    ]
    for future in admin.create_topics(topics).values():
        future.result(30)


# None matches any name, principal and host (the stubs ask for str).
_EVERY_ACL = AclBindingFilter(
    ResourceType.ANY, None, ResourcePatternType.ANY, None, None,  # type: ignore[arg-type]
    AclOperation.ANY, AclPermissionType.ANY,
)  # fmt: skip


def _grant(admin: AdminClient, bindings: list[AclBinding], timeout: float = 30) -> None:
    """Creates the ACLs and waits until the broker's authorizer holds them all: the
    controller commits them first, and the broker applies them a moment later."""
    for future in admin.create_acls(bindings).values():
        future.result(30)
    deadline = time.monotonic() + timeout
    while not set(bindings) <= set(admin.describe_acls(_EVERY_ACL).result(30)):
        if time.monotonic() > deadline:
            raise TimeoutError("the broker did not apply the ACLs in time")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    rendered = render(find_project_dir(), "dev")
    names = [m["metadata"]["name"] for m in rendered.manifests if m["kind"] == "KafkaUser"]
    passwords = {name: uuid.uuid4().hex for name in names}
    with secure_broker(tmp_path_factory.mktemp("acl-kafka"), passwords, acls=True) as broker:
        admin = AdminClient(client_config(broker.internal))
        _create_topics(admin, rendered)
        _grant(admin, declared_acls(rendered))
        yield Cluster(broker, rendered, passwords)


@pytest.fixture
def without(cluster: Cluster) -> Iterator[list[AclBinding]]:
    """ACLs a test takes away; they are put back after it."""
    removed: list[AclBinding] = []
    yield removed
    if removed:
        _grant(cluster.admin, removed)


def _take_away(cluster: Cluster, removed: list[AclBinding], user: str, resource: str) -> None:
    """Delete every ACL of `user` on the resource named `resource`."""
    doomed = [
        acl
        for acl in declared_acls(cluster.rendered)
        if acl.principal == f"User:{user}" and acl.name == resource
    ]
    assert doomed, f"no declared ACL of {user} on {resource}"
    filters = [
        AclBindingFilter(
            a.restype, a.name, a.resource_pattern_type, a.principal, a.host, a.operation,
            a.permission_type,
        )
        for a in doomed
    ]  # fmt: skip
    admin = cluster.admin
    for future in admin.delete_acls(filters).values():
        future.result(30)
    removed += doomed


def _produce(cluster: Cluster, tmp: Any, events: int = 300) -> int:
    """The producer workload sends `events` under its own user; returns how many Kafka
    acknowledged."""
    kafka = cluster.rendered.settings.kafka
    producer = EventProducer(
        settings=ProducerSettings(rate_per_second=5_000, seed=7),
        limits=EventLimits(),
        bootstrap=cluster.broker.secure,
        topic=kafka.events_topic,
        truth=GroundTruth(tmp),
        extra_config={**cluster.security("producer"), "message.timeout.ms": 15_000},
    )
    stats = producer.run(30, threading.Event(), limit=events)
    return stats.acked


def _dead_letters(cluster: Cluster) -> int:
    """The streaming job's transactional dead-letter writer, under the job's user: fence,
    read its progress, write two letters; returns how many letters the topic holds (read
    by the test itself: the job only writes there)."""
    kafka = cluster.rendered.settings.kafka
    security = cluster.security("streaming")
    writer = start_dead_letters(cluster.broker.secure, kafka, security)
    # Offsets above every earlier test's: the writer skips letters it has written before.
    letters = [
        DeadLetter(kafka.events_topic, 0, next(_SOURCE_OFFSETS), 0, None, b"{", "not_json", "t")
        for _ in range(2)
    ]
    try:
        writer.write(letters)
    finally:
        writer.close()
    return count_dead_letters(cluster.broker.internal, kafka.dead_letter_topic).total


def _never_written(*_: Any) -> BatchRecord:
    raise AssertionError("the probe reads the job's source; it runs none of its queries")


def test_the_producer_sends_under_its_acls(cluster: Cluster, tmp_path: Any) -> None:
    assert _produce(cluster, tmp_path) == 300


def test_the_dead_letter_writer_works_under_the_jobs_acls(cluster: Cluster) -> None:
    dead_letter_topic = cluster.rendered.settings.kafka.dead_letter_topic
    before = count_dead_letters(cluster.broker.internal, dead_letter_topic).total
    assert _dead_letters(cluster) == before + 2


def _read_with_the_jobs_source(cluster: Cluster, tmp_path: Any) -> int:
    """The streaming job's own Kafka source (its group prefix, options and login), read to
    the end of the events topic; returns the rows read, or raises what the query raised."""
    kafka = cluster.rendered.settings.kafka
    connector = find_project_dir() / ".rtap" / "jars" / "spark"
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("rtap-acl-test")
        .config("spark.jars", ",".join(str(j) for j in sorted(connector.glob("*.jar"))))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    env = JobEnvironment(
        bootstrap=cluster.broker.secure,
        topic=kafka.events_topic,
        checkpoint_root=str(tmp_path / "checkpoints"),
        session_input=str(tmp_path / "staged"),
        kafka_options=spark_kafka_options(
            cluster.broker.environ("streaming", cluster.passwords["streaming"])
        ),
    )
    job = StreamingJob(
        spark, settings=StreamingSettings(), limits=EventLimits(), env=env,
        writers={"ingest": _never_written}, metrics=PipelineMetrics(),
    )  # fmt: skip
    try:
        query = (
            job._source()
            .writeStream.format("memory")
            .queryName("acl_probe")
            .option("checkpointLocation", str(tmp_path / "probe"))
            .trigger(availableNow=True)
            .start()
        )
        try:
            query.awaitTermination(120)
        except StreamingQueryException as failure:
            raise RuntimeError(str(failure)) from None
        return int(spark.sql("SELECT count(*) FROM acl_probe").collect()[0][0])
    finally:
        spark.stop()


def test_the_jobs_kafka_source_reads_under_its_acls(cluster: Cluster, tmp_path: Any) -> None:
    assert _produce(cluster, tmp_path / "truth", events=50) == 50
    assert _read_with_the_jobs_source(cluster, tmp_path) >= 50


# (workload, its user, the resource whose ACLs are taken away)
MISSING_ACLS = [
    ("producer", "producer", "events"),
    ("job source", "streaming", "events"),
    ("dead letters", "streaming", "events.dlq"),
    ("dead letters", "streaming", "events.dlq.progress"),
    ("dead letters", "streaming", "rtap-dead-letters-events"),
    ("dead letters", "streaming", "rtap-reader-"),
]


@pytest.mark.parametrize("case", MISSING_ACLS, ids=lambda case: f"{case[1]}-{case[2]}")
def test_without_any_one_of_its_acls_a_workload_fails(
    cluster: Cluster, without: list[AclBinding], tmp_path: Any, case: tuple[str, str, str]
) -> None:
    workload, user, resource = case
    _take_away(cluster, without, user, resource)
    if workload == "producer":
        assert _produce(cluster, tmp_path, events=20) == 0
    elif workload == "job source":
        with pytest.raises(RuntimeError, match=r"TopicAuthorizationException"):
            _read_with_the_jobs_source(cluster, tmp_path)
    else:
        with pytest.raises((KafkaException, TimeoutError)):
            _dead_letters(cluster)


def _registry_environment(cluster: Cluster) -> dict[str, str]:
    """The registry Deployment's env as the program declares it, pointed at this broker
    and logging in as the schema-registry user (as Strimzi's sasl.jaas.config would)."""
    (deployment,) = [
        m
        for m in cluster.rendered.manifests
        if m["kind"] == "Deployment" and m["metadata"]["name"] == "schema-registry"
    ]
    declared = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="schema-registry" password="{cluster.passwords["schema-registry"]}";'
    )
    return local_environment(declared, cluster.broker.secure, jaas, cluster.broker.ca_file)


def test_the_schema_registry_stores_schemas_in_kafka_under_its_acls(
    cluster: Cluster, tmp_path: Any
) -> None:
    schema = '{"type": "record", "name": "Probe", "fields": [{"name": "id", "type": "string"}]}'
    environment = _registry_environment(cluster)
    with running_registry(environment, tmp_path / "registry.log") as registry:
        created = registry.post(
            "/apis/ccompat/v7/subjects/rtap-probe-value/versions", json={"schema": schema}
        )
        assert created.status_code == httpx.codes.OK, created.text
        schema_id = created.json()["id"]
    # A second registry reads the journal back from Kafka: the schema outlived the first.
    with running_registry(environment, tmp_path / "registry-2.log") as registry:
        stored = registry.get(f"/apis/ccompat/v7/schemas/ids/{schema_id}")
        assert stored.status_code == httpx.codes.OK, stored.text
        assert '"Probe"' in stored.json()["schema"]


@pytest.mark.parametrize("resource", ["kafkasql-journal", "apicurio-"])
def test_without_its_journal_or_group_acl_the_registry_never_becomes_ready(
    cluster: Cluster, without: list[AclBinding], tmp_path: Any, resource: str
) -> None:
    _take_away(cluster, without, "schema-registry", resource)
    # 50 s: a registry with its ACLs is ready in about 30 s on the CI host.
    with (
        pytest.raises(TimeoutError) as waited,
        running_registry(_registry_environment(cluster), tmp_path / "registry.log", timeout=50),
    ):
        pass
    assert "AuthorizationException" in (tmp_path / "registry.log").read_text(), waited.value


def _worker(cluster: Cluster) -> str:
    (connect,) = [m for m in cluster.rendered.manifests if m["kind"] == "KafkaConnect"]
    return worker_properties(
        connect["spec"], cluster.broker.secure, cluster.passwords["connect"], cluster.broker.ca_file
    )


def test_kafka_connect_joins_its_group_and_creates_its_topics_under_its_acls(
    cluster: Cluster, tmp_path: Any
) -> None:
    with running_worker(_worker(cluster), tmp_path) as url:
        assert httpx.get(f"{url}/connectors", timeout=10).json() == []
    topics = cluster.admin.list_topics(timeout=30).topics
    assert {"rtap-connect-configs", "rtap-connect-offsets", "rtap-connect-status"} <= set(topics)


@pytest.mark.parametrize("resource", ["rtap-connect", "rtap-connect-"])
def test_without_its_group_or_topic_acl_connect_never_becomes_ready(
    cluster: Cluster, without: list[AclBinding], tmp_path: Any, resource: str
) -> None:
    _take_away(cluster, without, "connect", resource)
    # 25 s: a worker with its ACLs is ready in under 13 s on the CI host.
    with (
        pytest.raises(TimeoutError) as waited,
        running_worker(_worker(cluster), tmp_path, timeout=25),
    ):
        pass
    assert (tmp_path / "connect.log").read_text().count("AuthorizationException"), waited.value
