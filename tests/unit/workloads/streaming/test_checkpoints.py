from __future__ import annotations

from pathlib import Path

from workloads.streaming.checkpoints import committed_offsets, remove_orphaned_temp_files


def test_temp_files_of_interrupted_writes_are_removed(tmp_path: Path) -> None:
    offsets = tmp_path / "offsets"
    offsets.mkdir()
    orphan = offsets / ".0.b5eae690-074d-4fa5-ad38-c2d71c961948.tmp"
    orphan_crc = offsets / "..0.b5eae690-074d-4fa5-ad38-c2d71c961948.tmp.crc"
    kept = [offsets / "0", offsets / ".0.crc", tmp_path / "metadata"]
    for path in [orphan, orphan_crc, *kept]:
        path.write_text("x")
    assert sorted(remove_orphaned_temp_files(tmp_path)) == sorted([orphan, orphan_crc])
    assert all(path.exists() for path in kept)
    assert remove_orphaned_temp_files(tmp_path / "missing") == []


def test_committed_offsets_come_from_the_last_committed_batch(tmp_path: Path) -> None:
    assert committed_offsets(tmp_path, "events") == {}
    (tmp_path / "offsets").mkdir()
    (tmp_path / "commits").mkdir()
    for batch, offset in [(0, 10), (1, 25), (2, 40)]:
        (tmp_path / "offsets" / str(batch)).write_text(
            f'v1\n{{"batchWatermarkMs":0}}\n{{"events":{{"0":{offset},"1":{offset + 1}}}}}\n'
        )
    for batch in (0, 1):  # batch 2 was planned but never committed
        (tmp_path / "commits" / str(batch)).write_text("v1\n{}\n")
    assert committed_offsets(tmp_path, "events") == {0: 25, 1: 26}
