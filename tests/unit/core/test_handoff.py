"""Handing validated settings to another process through a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.handoff import read_settings_file, write_settings_file
from core.settings import SettingsError, section_keys
from core.stack_config import load_stack
from infra.settings import StackSettings
from tests.unit.infra.conftest import PROJECT, STACKS
from workloads.settings import WorkloadSettings


@pytest.mark.parametrize("stack", STACKS)
def test_the_settings_file_hands_over_the_workload_sections(tmp_path: Path, stack: str) -> None:
    settings = load_stack(StackSettings, stack, PROJECT, environ={})
    path = write_settings_file(settings.workload_part(), tmp_path / "settings.json")
    assert list(json.loads(path.read_text())) == section_keys(WorkloadSettings)
    handed_over = read_settings_file(WorkloadSettings, path)
    assert handed_over.kafka == settings.kafka and handed_over.sla == settings.sla


def test_a_bad_settings_file_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"kafka": {"partitions": 0}}))
    with pytest.raises(SettingsError, match=r"rtap:kafka\.partitions: .*, in .*settings\.json"):
        read_settings_file(WorkloadSettings, path)
    with pytest.raises(SettingsError, match=r"cannot read the settings file .*absent\.json"):
        read_settings_file(WorkloadSettings, tmp_path / "absent.json")


def test_a_file_is_replaced_whole_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "run" / "settings.json"
    for rate in (1000, 2000):
        producer = WorkloadSettings().producer.model_copy(update={"rate_per_second": rate})
        write_settings_file(WorkloadSettings(producer=producer), target)
    assert read_settings_file(WorkloadSettings, target).producer.rate_per_second == 2000
    assert [p.name for p in target.parent.iterdir()] == ["settings.json"]
