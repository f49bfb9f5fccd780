"""The workload images: pinned bases, sources that exist, entry points that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.settings import pinned_image
from rtap.render.program import render

PROJECT = Path(__file__).resolve().parents[2]
WORKLOADS = ("producer", "streaming", "serving")


def _instructions(workload: str) -> list[tuple[str, str]]:
    text = (PROJECT / "docker" / workload / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("workload", WORKLOADS)
def test_base_images_are_pinned(workload: str) -> None:
    bases = [args.split()[0] for op, args in _instructions(workload) if op == "FROM"]
    assert bases
    for base in bases:
        # Docker Hub's official images have no registry part; pin them all the same.
        pinned_image(base if "/" in base else f"docker.io/library/{base}")


@pytest.mark.parametrize("workload", WORKLOADS)
def test_copied_sources_exist(workload: str) -> None:
    for op, args in _instructions(workload):
        if op == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (PROJECT / source).exists(), f"docker/{workload}: COPY {source}"


@pytest.mark.parametrize("workload", ["producer", "serving"])
def test_entry_point_modules_exist(workload: str) -> None:
    (entry,) = [args for op, args in _instructions(workload) if op == "ENTRYPOINT"]
    module = re.search(r'"-m", "([\w.]+)"', entry)
    assert module, entry
    assert (PROJECT / module[1].replace(".", "/") / "__main__.py").is_file()


def test_the_spark_application_runs_a_file_the_streaming_image_holds() -> None:
    (app,) = [m for m in render(PROJECT, "dev").manifests if m["kind"] == "SparkApplication"]
    main_file = app["spec"]["mainApplicationFile"].removeprefix("local://")
    workdir = [args for op, args in _instructions("streaming") if op == "WORKDIR"][-1]
    copied = [args.split() for op, args in _instructions("streaming") if op == "COPY"]
    assert ["workloads", "./workloads"] in copied
    relative = Path(main_file).relative_to(workdir)
    assert (PROJECT / relative).is_file(), relative
