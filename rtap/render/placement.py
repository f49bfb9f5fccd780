"""Where the stateful workloads' pods land, zone by zone, read from the rendered objects.

A pod pinned by node affinity (Strimzi node pools) or by an Altinity pod template's
`zone` is counted in that zone. Pods spread with a hard zone constraint of skew 1 are
counted as the scheduler must place them: as evenly as possible over the stack's zones.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from infra.components.k8s import ZONE_LABEL
from infra.components.placement import per_zone
from rtap.render.program import Rendered

PodsPerZone = dict[str, dict[str, int]]


def stateful_placement(rendered: Rendered, zones: list[str]) -> PodsPerZone:
    placement: PodsPerZone = {}
    for obj in rendered.manifests:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "KafkaNodePool":
            role = obj["spec"]["roles"][0]
            zone = _pinned_zone(obj["spec"]["template"]["pod"].get("affinity", {}))
            counts = placement.setdefault(f"kafka {role}s", {})
            counts[zone] = counts.get(zone, 0) + obj["spec"]["replicas"]
        elif kind == "ClickHouseInstallation":
            placement.update(_clickhouse(obj))
        elif kind == "ClickHouseKeeperInstallation":
            count = obj["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"]
            spread = _spreads(obj["spec"]["templates"]["podTemplates"][0]["spec"])
            placement[f"keeper {name}"] = per_zone(count, zones) if spread else {"unpinned": count}
        elif kind == "StatefulSet":
            count = obj["spec"]["replicas"]
            spread = _spreads(obj["spec"]["template"]["spec"])
            placement[name] = per_zone(count, zones) if spread else {"unpinned": count}
    return placement


def _clickhouse(obj: dict[str, Any]) -> PodsPerZone:
    templates = {t["name"]: t for t in obj["spec"]["templates"]["podTemplates"]}
    found: PodsPerZone = {}
    for cluster in obj["spec"]["configuration"]["clusters"]:
        layout = cluster["layout"]
        counts: Counter[str] = Counter()
        for replica in layout.get("replicas", []):
            template = templates[replica["templates"]["podTemplate"]]
            values = template.get("zone", {}).get("values", [])
            counts[values[0] if len(values) == 1 else "unpinned"] += layout["shardsCount"]
        found[f"clickhouse {cluster['name']} ({layout['shardsCount']} shards)"] = dict(counts)
    return found


def _pinned_zone(affinity: dict[str, Any]) -> str:
    terms = (
        affinity.get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms", [])
    )
    for term in terms:
        for expression in term.get("matchExpressions", []):
            if expression["key"] == ZONE_LABEL and len(expression["values"]) == 1:
                return str(expression["values"][0])
    return "unpinned"


def _spreads(pod_spec: dict[str, Any]) -> bool:
    return any(
        c["topologyKey"] == ZONE_LABEL
        and c["whenUnsatisfiable"] == "DoNotSchedule"
        and c["maxSkew"] == 1
        for c in pod_spec.get("topologySpreadConstraints", [])
    )
