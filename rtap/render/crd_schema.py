"""JSON schemas of custom resources, made from the operators' original CRDs.

The conversion is the one the CRDs-catalog (openapi2jsonschema, strict) applies, and
that made most of infra/crd-schemas: each version's `openAPIV3Schema`, with every
nested object that lists its properties closed to fields it does not list, so a
misspelt field fails. The root stays open, as in the catalogue's files. The test suite
holds the vendored files to this conversion of infra/upstream-crds.

    python -m rtap.render.crd_schema CRD.yaml... --out infra/crd-schemas
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import structlog

from infra.components.crds import crds_in

log = structlog.get_logger(__name__)


def closed(schema: Any, root: bool = True) -> Any:
    """`schema` with `additionalProperties: false` on every non-root object that has
    `properties` and says nothing of additional ones."""
    if isinstance(schema, list):
        return [closed(item, root=False) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value, root=False) for key, value in schema.items()}
    lists_fields = "properties" in schema and schema.get("type") == "object"
    if not root and lists_fields and "additionalProperties" not in schema:
        result["additionalProperties"] = False
    return result


def schemas_of(crd_file: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`<group>/<kind>_<version>.json`, schema) for every version the CRD serves."""
    for crd in crds_in(crd_file):
        spec = crd["spec"]
        kind = spec["names"]["kind"].lower()
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            schema = version["schema"]["openAPIV3Schema"]
            yield f"{spec['group']}/{kind}_{version['name']}.json", closed(schema)


def as_file_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("crds", nargs="+", type=Path, help="CustomResourceDefinition YAML")
    parser.add_argument("--out", type=Path, required=True, help="schema folder to write")
    arguments = parser.parse_args(argv)
    for crd_file in arguments.crds:
        for name, schema in schemas_of(crd_file):
            target = arguments.out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(as_file_text(schema))
            log.info("schema written", file=str(target), crd=str(crd_file))


if __name__ == "__main__":
    main()
