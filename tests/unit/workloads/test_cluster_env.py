"""How workload containers read their cluster environment."""

from __future__ import annotations

import pytest
import structlog

from workloads import cluster_env
from workloads.redis_client import parse_sentinel_url, sentinel_url
from workloads.serving.__main__ import main as serving_main
from workloads.storage.__main__ import main as migrations_main
from workloads.streaming.__main__ import main as streaming_main


def test_kafka_security_is_scram_over_tls_when_a_user_is_set() -> None:
    environ = {"KAFKA_USERNAME": "producer", "KAFKA_PASSWORD": "pw", "KAFKA_CA_FILE": "/ca.crt"}
    assert cluster_env.kafka_security(environ) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "producer",
        "sasl.password": "pw",
        "ssl.ca.location": "/ca.crt",
    }
    assert cluster_env.kafka_security({}) == {}
    with pytest.raises(cluster_env.MissingVariableError, match="KAFKA_PASSWORD"):
        cluster_env.kafka_security({"KAFKA_USERNAME": "producer"})


def test_sentinel_urls_round_trip_with_awkward_passwords() -> None:
    url = sentinel_url("redis-a:26379,redis-b:26379", "rtap", "p@ss/w:rd")
    target = parse_sentinel_url(url)
    assert target.sentinels == (("redis-a", 26379), ("redis-b", 26379))
    assert target.master_set == "rtap"
    assert target.password == "p@ss/w:rd"
    assert parse_sentinel_url(sentinel_url("h:1", "m", None)).password is None


@pytest.mark.parametrize(
    "url", ["redis+sentinel://h:1", "redis+sentinel://h/m", "redis+sentinel://:pw@/m"]
)
def test_malformed_sentinel_urls_say_what_is_wrong(url: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_sentinel_url(url)


def test_redis_url_prefers_sentinels_and_may_be_absent() -> None:
    environ = {"REDIS_SENTINELS": "r:26379", "REDIS_MASTER_SET": "rtap", "REDIS_PASSWORD": "pw"}
    assert cluster_env.redis_url(environ) == "redis+sentinel://:pw@r:26379/rtap"
    assert cluster_env.redis_url({"REDIS_URL": "redis://x:6379/0"}) == "redis://x:6379/0"
    assert cluster_env.redis_url({}) is None


def test_containers_exit_2_naming_a_missing_variable() -> None:
    with structlog.testing.capture_logs() as logs:
        assert migrations_main({}) == 2
        assert serving_main({}) == 2
        assert streaming_main({}) == 2
    errors = [entry["error"] for entry in logs if entry["log_level"] == "error"]
    assert len(errors) == 3
    assert all(error.startswith("RTAP_SETTINGS_FILE is not set: it names the") for error in errors)


def test_spark_reads_kafka_with_the_same_login() -> None:
    environ = {"KAFKA_USERNAME": "streaming", "KAFKA_PASSWORD": "pw", "KAFKA_CA_FILE": "/ca.crt"}
    options = cluster_env.spark_kafka_options(environ)
    assert options["kafka.security.protocol"] == "SASL_SSL"
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert 'username="streaming" password="pw";' in options["kafka.sasl.jaas.config"]
    assert options["kafka.ssl.truststore.location"] == "/ca.crt"
    assert cluster_env.spark_kafka_options({}) == {}
    with pytest.raises(cluster_env.MissingVariableError, match="may not contain"):
        cluster_env.spark_kafka_options({**environ, "KAFKA_PASSWORD": 'p"w'})
