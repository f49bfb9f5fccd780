"""Every rendered object, checked by a real Kubernetes API server.

The offline schemas see types and enums. The API server also runs what only it runs: the
CRDs' CEL rules, defaulting, field validation in strict mode, the built-in kinds' own
validation, and admission (PodSecurity). The check goes in four steps:

1. the CRDs the program declares (the operators' originals) are created and awaited;
2. the namespaces are created, with their Pod Security labels;
3. every other object is server-side applied with dryRun=All, and each rejection is
   reported naming the object and the field;
4. the objects are applied for real, and the controller manager makes the Pods of every
   Deployment, StatefulSet and Job: a Pod that Pod Security refuses is reported too.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httpx

from infra.policies import describe
from rtap.render.apiserver import ApiServer

CRD = "CustomResourceDefinition"
FIELD_MANAGER = "rtap-render"
ESTABLISH_TIMEOUT_S = 60.0
PODS_TIMEOUT_S = 60.0
CONCURRENT_APPLIES = 4
# The kinds whose controllers make Pods, and the kind that reports it (a Deployment's
# ReplicaSet does).
POD_MAKERS = {"Deployment": "ReplicaSet", "StatefulSet": "StatefulSet", "Job": "Job"}

Manifest = dict[str, Any]


@dataclass
class ServerReport:
    """What the server said: rejections fail the check, warnings do not."""

    version: str
    applied: int = 0
    pods_checked: int = 0
    rejections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Resource:
    path: str
    namespaced: bool


class Resources:
    """Where each kind lives on this server, from its discovery documents."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client
        self._known: dict[str, dict[str, Resource]] = {}

    def of(self, obj: Manifest) -> Resource | None:
        api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
        if kind not in self._known.get(api_version, {}):
            self._known[api_version] = self._discover(api_version)
        return self._known[api_version].get(kind)

    def _discover(self, api_version: str) -> dict[str, Resource]:
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        answer = self._client.get(prefix)
        if answer.status_code == HTTPStatus.NOT_FOUND:
            return {}
        answer.raise_for_status()
        return {
            r["kind"]: Resource(f"{prefix}/{{ns}}{r['name']}", r["namespaced"])
            for r in answer.json()["resources"]
            if "/" not in r["name"]
        }

    def url(self, obj: Manifest) -> str | None:
        resource = self.of(obj)
        if resource is None:
            return None
        metadata = obj["metadata"]
        namespace = f"namespaces/{metadata.get('namespace', 'default')}/"
        return resource.path.format(ns=namespace if resource.namespaced else "") + (
            f"/{metadata['name']}"
        )


def check_on_server(manifests: list[Manifest], server: ApiServer) -> ServerReport:
    report = ServerReport(version=server.version)
    resources = Resources(server.client)
    crds = [m for m in manifests if m["kind"] == CRD]
    namespaces = [m for m in manifests if m["kind"] == "Namespace"]
    others = [m for m in manifests if m["kind"] not in {CRD, "Namespace"}]
    _apply_concurrently(server.client, resources, crds, report)
    _await_established(server.client, crds, report)
    for namespace in namespaces + _unrendered_namespaces(manifests):
        _apply(server.client, resources, namespace, report, dry_run=False)
    admitted = [obj for obj in others if _apply(server.client, resources, obj, report, True)]
    for obj in admitted:
        _apply(server.client, resources, obj, report, dry_run=False)
    makers = [obj for obj in admitted if obj["kind"] in POD_MAKERS]
    report.pods_checked = len(makers)
    report.rejections += _pods_refused(server.client, makers)
    return report


def _apply_concurrently(
    client: httpx.Client, resources: Resources, objs: list[Manifest], report: ServerReport
) -> None:
    """Server-side apply of objects that do not depend on each other (the CRDs), a few at a
    time: the server's field tracking makes the 5 MB of CRDs its slowest writes (8 s one
    by one, 5.5 s four at a time on two cores). Each gets a report of its own, merged in
    the objects' order, so the result does not depend on which finished first."""
    if not objs:
        return
    resources.url(objs[0])  # discovery once, before the threads share the cache

    def apply_one(obj: Manifest) -> ServerReport:
        own = ServerReport(version=report.version)
        _apply(client, resources, obj, own, dry_run=False)
        return own

    with ThreadPoolExecutor(max_workers=CONCURRENT_APPLIES) as pool:
        for own in pool.map(apply_one, objs):
            report.applied += own.applied
            report.rejections += own.rejections
            report.warnings += [w for w in own.warnings if w not in report.warnings]


def _apply(
    client: httpx.Client, resources: Resources, obj: Manifest, report: ServerReport, dry_run: bool
) -> bool:
    """Server-side apply of one object; False (and the reason reported) if refused."""
    url = resources.url(obj)
    if url is None:
        report.rejections.append(
            f"{describe(obj)}: the server has no kind {obj['kind']} in "
            f"{obj['apiVersion']} (is its CRD declared?)"
        )
        return False
    params = {"fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"}
    if dry_run:
        params["dryRun"] = "All"
    answer = client.patch(
        url,
        params=params,
        content=json.dumps(obj),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    for warning in answer.headers.get_list("warning"):
        text = f"{describe(obj)}: {_warning_text(warning)}"
        if text not in report.warnings:
            report.warnings.append(text)
    if answer.is_success:
        report.applied += not dry_run
        return True
    report.rejections.append(f"{describe(obj)}: {_status_text(answer)}")
    return False


def _status_text(answer: httpx.Response) -> str:
    """A Status's causes as `field: message`, or its message."""
    try:
        status = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}: {answer.text[:300]}"
    causes = (status.get("details") or {}).get("causes") or []
    named = [f"{c['field']}: {c.get('message', '')}" for c in causes if c.get("field")]
    return "; ".join(named) if named else str(status.get("message", answer.status_code))


def _warning_text(header: str) -> str:
    """`299 - "text"` (RFC 7234) as its text."""
    code, _, rest = header.partition(" - ")
    text = rest.strip().removeprefix('"').removesuffix('"') if code.strip() == "299" else header
    return text.replace('\\"', '"')


def _unrendered_namespaces(manifests: list[Manifest]) -> list[Manifest]:
    """Namespaces objects live in that the program does not declare itself (Helm creates
    the operators'), as plain namespaces."""
    declared = {m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"}
    used = {m["metadata"].get("namespace") for m in manifests} - {None} - declared
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in sorted(used)
    ]


def _await_established(client: httpx.Client, crds: list[Manifest], report: ServerReport) -> None:
    pending = {crd["metadata"]["name"] for crd in crds}
    deadline = time.monotonic() + ESTABLISH_TIMEOUT_S
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            answer = client.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = (
                (answer.json().get("status") or {}).get("conditions") or []
                if answer.is_success
                else []
            )
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                pending.discard(name)
        time.sleep(0.2)
    report.rejections += [f"CustomResourceDefinition {n}: not Established" for n in sorted(pending)]


def _pods_refused(client: httpx.Client, makers: list[Manifest]) -> list[str]:
    """Waits until the controllers have tried to make each workload's first Pod; every
    refusal (Pod Security, quotas, a missing ServiceAccount) is one message."""
    waiting = {_reporter(obj): obj for obj in makers}
    refused: dict[tuple[str, str, str], str] = {}
    deadline = time.monotonic() + PODS_TIMEOUT_S
    while waiting and time.monotonic() < deadline:
        for event in client.get("/api/v1/events").json()["items"]:
            if event["reason"] not in {"SuccessfulCreate", "FailedCreate"}:
                continue
            involved = event["involvedObject"]
            for key in list(waiting):
                if _reported_by(involved, key):
                    obj = waiting.pop(key)
                    if event["reason"] == "FailedCreate":
                        refused[key] = f"{describe(obj)}: its Pod was refused: {event['message']}"
        time.sleep(0.5)
    never = [
        f"{describe(obj)}: no Pod was made within {PODS_TIMEOUT_S:.0f} s"
        for obj in waiting.values()
    ]
    return list(refused.values()) + never


def _reported_by(involved: dict[str, Any], key: tuple[str, str, str]) -> bool:
    kind, namespace, name = key
    if involved["kind"] != kind or involved.get("namespace") != namespace:
        return False
    # A Deployment's ReplicaSets are named <deployment>-<pod template hash>.
    reporter = str(involved["name"])
    return (reporter.rsplit("-", 1)[0] if kind == "ReplicaSet" else reporter) == name


def _reporter(obj: Manifest) -> tuple[str, str, str]:
    metadata = obj["metadata"]
    return POD_MAKERS[obj["kind"]], metadata.get("namespace", "default"), metadata["name"]
