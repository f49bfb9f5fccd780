"""The policy pack (policy/) in the virtualenv Pulumi runs it in, with pulumi-policy
installed from its requirements: each policy, called as the engine calls it, passes the
rendered stacks and reports what violates it."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.conftest import PROJECT, render_once

PACK = PROJECT / "policy"
# Calls every policy as the engine would: stack validation arguments holding each
# resource's type token and inputs, and a callback for violations.
RUNNER = """
import json, runpy, sys, types
pack = runpy.run_path(sys.argv[1], run_name="rtap_policy_pack")
declared = json.load(open(sys.argv[2]))
args = types.SimpleNamespace(
    resources=[types.SimpleNamespace(resource_type=t, props=p) for t, p in declared]
)
found = {}
for policy in pack["policies"]():
    messages = []
    policy.validate(args, lambda message, urn=None: messages.append(message))
    found[policy.name] = [str(policy.enforcement_level), messages]
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def pack_python() -> Path:
    """policy/venv, where PulumiPolicy.yaml says the pack runs, made from its requirements
    (kept while they stay the same)."""
    venv = PACK / "venv"
    python = venv / "bin" / "python"
    stamp = venv / ".requirements-sha256"
    digest = hashlib.sha256((PACK / "requirements.txt").read_bytes()).hexdigest()
    if not (python.exists() and stamp.exists() and stamp.read_text() == digest):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(PACK / "requirements.txt")],
            check=True,
        )
        stamp.write_text(digest)
    return python


def _run_pack(python: Path, declared: list[tuple[str, dict[str, Any]]], tmp: Path) -> Any:
    resources = tmp / "resources.json"
    resources.write_text(json.dumps(declared))
    done = subprocess.run(
        [str(python), "-c", RUNNER, str(PACK / "__main__.py"), str(resources)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def _declared(stack: str) -> list[tuple[str, dict[str, Any]]]:
    """The stack's resources as the engine hands them to a pack: type token and inputs."""
    return [(token, inputs) for token, _, inputs in render_once(stack).raw]


def test_the_rendered_stacks_pass_every_policy(pack_python: Path, tmp_path: Path) -> None:
    for stack in ("dev", "prod"):
        found = _run_pack(pack_python, _declared(stack), tmp_path)
        assert len(found) == 7
        assert {level for level, _ in found.values()} == {"EnforcementLevel.MANDATORY"}
        assert {name: messages for name, (_, messages) in found.items() if messages} == {}


def test_violations_are_reported_by_their_policies_stricter_for_prod(
    pack_python: Path, tmp_path: Path
) -> None:
    declared = _declared("prod")
    broken = copy.deepcopy(declared)
    for token, inputs in broken:
        if token.endswith(":KafkaTopic") and inputs["metadata"]["name"].endswith("events"):
            inputs["spec"]["replicas"] = 2
        if token.endswith(":Ingress"):
            del inputs["spec"]["tls"]
    found = _run_pack(pack_python, broken, tmp_path)
    assert any("replicas 2" in m for m in found["kafka-replication"][1])
    assert any("served without TLS" in m for m in found["tls-public-endpoints"][1])
    assert found["pinned-images"][1] == []
    # The same replication in a stack whose environment is not prod is no violation.
    for _, inputs in broken:
        data = inputs.get("data") or {}
        if "settings.json" in data and isinstance(data["settings.json"], str):
            settings = json.loads(data["settings.json"])
            data["settings.json"] = json.dumps({**settings, "environment": "staging"})
    found = _run_pack(pack_python, broken, tmp_path)
    assert found["kafka-replication"][1] == []
    assert found["tls-public-endpoints"][1]
