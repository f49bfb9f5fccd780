"""The workload images: pinned bases, sources that exist, entry points that exist, and
entry points that run on what the image holds: the workload code, the core, and the
Python packages the image installs."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from infra.images import pinned_image
from tests.unit.infra.conftest import render_once

PROJECT = Path(__file__).resolve().parents[2]
WORKLOADS = ("producer", "streaming", "serving", "loadtest")
# What each image's container runs: its entry point, and for the serving image also the
# migrations Job (`python -m workloads.storage`).
ENTRY_MODULES = {
    "producer": ["workloads.producer.__main__"],
    "serving": ["workloads.serving.__main__", "workloads.storage.__main__"],
    "streaming": ["workloads.streaming.__main__"],
    "loadtest": ["loadtests.__main__", "loadtests.locustfile"],
}
# The project's packages an image holds besides the core and the workloads.
EXTRA_PACKAGES = {"loadtest": {"loadtests"}}
PROJECT_PACKAGES = ("core", "workloads", "infra", "loadtests", "rtap")
# Run in a fresh interpreter: only the image's copy of the sources on the path, and any
# module the image lacks refused, however it would otherwise be found.
_IMPORT_AS_IN_THE_IMAGE = """
import importlib, sys
sys.path.insert(0, sys.argv[1])
missing = set(sys.argv[2].split(","))
class NotInTheImage:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in missing:
            raise ModuleNotFoundError(f"No module named {name!r} in the image")
        return None
sys.meta_path.insert(0, NotInTheImage())
for module in sys.argv[3:]:
    imported = importlib.import_module(module)
    assert imported.__file__.startswith(sys.argv[1]), imported.__file__
"""


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


@pytest.mark.parametrize("workload", ["producer", "serving", "loadtest"])
def test_entry_point_modules_exist(workload: str) -> None:
    (entry,) = [args for op, args in _instructions(workload) if op == "ENTRYPOINT"]
    module = re.search(r'"-m", "([\w.]+)"', entry)
    assert module, entry
    assert (PROJECT / module[1].replace(".", "/") / "__main__.py").is_file()


def test_the_spark_application_runs_a_file_the_streaming_image_holds() -> None:
    (app,) = [m for m in render_once("dev").manifests if m["kind"] == "SparkApplication"]
    main_file = app["spec"]["mainApplicationFile"].removeprefix("local://")
    workdir = [args for op, args in _instructions("streaming") if op == "WORKDIR"][-1]
    copied = [args.split() for op, args in _instructions("streaming") if op == "COPY"]
    assert ["workloads", "./workloads"] in copied
    relative = Path(main_file).relative_to(workdir)
    assert (PROJECT / relative).is_file(), relative


def _copied_sources(workload: str) -> list[str]:
    return [
        source
        for op, args in _instructions(workload)
        if op == "COPY" and not args.startswith("--from")
        for source in args.split()[:-1]
    ]


def _installed_extras(workload: str) -> set[str]:
    """The extras of the `pip install .[…]` the image runs (none for a plain `.`)."""
    (command,) = [args for op, args in _instructions(workload) if op == "RUN" and "pip" in args]
    extras = re.search(r"\.\[([\w,]+)\]", command)
    return set(extras[1].split(",")) if extras else set()


def _distributions(requirements: list[str], extras: dict[str, list[str]]) -> set[str]:
    """The distributions `requirements` name, with this project's own extras expanded."""
    names: set[str] = set()
    for line in requirements:
        requirement = Requirement(line)
        if requirement.name == "rtap":
            for extra in requirement.extras:
                names |= _distributions(extras[extra], extras)
        else:
            names.add(requirement.name.lower().replace("_", "-"))
    return names


def _missing_in_the_image(workload: str) -> set[str]:
    """Top-level modules the image does not have: the project's packages it does not copy,
    and whatever only the extras it does not install would bring."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    installed = _distributions(project["dependencies"], extras)
    for extra in _installed_extras(workload):
        installed |= _distributions(extras[extra], extras)
    others = _distributions([line for lines in extras.values() for line in lines], extras)
    absent = others - installed
    modules = set()
    for module, dists in importlib.metadata.packages_distributions().items():
        names = {d.lower().replace("_", "-") for d in dists}
        if names & absent and not names & installed:
            modules.add(module)
    copied = {Path(source).parts[0] for source in _copied_sources(workload)}
    return modules | (set(PROJECT_PACKAGES) - copied)


@pytest.mark.parametrize("workload", WORKLOADS)
def test_an_image_holds_the_workloads_and_the_core_alone(workload: str) -> None:
    copied = {Path(source).parts[0] for source in _copied_sources(workload)}
    assert {"core", "workloads"} <= copied
    others = set(PROJECT_PACKAGES) - {"core", "workloads", *EXTRA_PACKAGES.get(workload, set())}
    assert not copied & others, f"docker/{workload} copies {copied}"


@pytest.mark.parametrize("workload", WORKLOADS)
def test_an_image_runs_on_what_it_holds(workload: str, tmp_path: Path) -> None:
    for source in _copied_sources(workload):
        if (PROJECT / source).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(PROJECT / source, tmp_path / source, ignore=ignore)
    missing = _missing_in_the_image(workload)
    assert {"rtap", "infra", "chdb", "pulumi"} <= missing
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_AS_IN_THE_IMAGE, str(tmp_path), ",".join(sorted(missing)),
         *ENTRY_MODULES[workload]],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
