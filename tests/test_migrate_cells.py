"""Old cells are re-keyed, not recomputed, when the form of a protector's config changes (options completed
with the class defaults; files counted by content, not location)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.specs import ProtectorSpec
from benchmarks.store import CellKey, config_hash, dumps_cell, json_safe
from benchmarks.tools.migrate_cells import main as migrate_main


def _old_cell(root: Path) -> tuple[Path, dict]:
    """A PGD cell as written when its config spelled out only ``eps`` (the rest left to the class)."""
    protector = {"name": "pgd", "registry": "pgd", "options": {"eps": 2.0}, "seed": 0}
    config = {"table": "table2", "protector": protector, "recognizer": {"name": "dlib", "options": {}}}
    key = CellKey("table2", "sample", "pgd", "dlib", 0, config_hash(config))
    record = {"schema": 1, "key": key.__dict__, "kind": "identification", "config": config,
              "values": {"top1": 0.5}, "provenance": {"git": "abc"}}
    path = root / key.relpath()
    path.parent.mkdir(parents=True)
    path.write_text(dumps_cell(record))
    return path, record


def test_an_old_cell_moves_to_todays_hash_with_its_values_and_a_record_of_the_move(tmp_path: Path, capsys):
    path, record = _old_cell(tmp_path / "exp")
    assert migrate_main([str(tmp_path)]) == 0  # dry run: nothing moves
    assert path.exists() and "1 cells to rewrite" in capsys.readouterr().out

    assert migrate_main([str(tmp_path), "--write"]) == 0
    assert not path.exists()
    (moved,) = (tmp_path / "exp" / "cells").rglob("*.json")
    cell = json.loads(moved.read_text())
    today = ProtectorSpec("pgd", {"eps": 2.0}).config()
    assert cell["config"]["protector"] == json_safe(today)
    assert cell["key"]["config_hash"] == config_hash(cell["config"]) != record["key"]["config_hash"]
    assert moved.name == f"seed0-{cell['key']['config_hash']}.json"
    assert cell["values"] == record["values"]
    assert cell["provenance"]["migrated"][0]["from_config_hash"] == record["key"]["config_hash"]

    capsys.readouterr()
    assert migrate_main([str(tmp_path), "--write"]) == 0  # idempotent
    assert "0 cells rewritten, 1 already current" in capsys.readouterr().out


def test_a_checkpoint_counts_by_its_content_wherever_it_lies(tmp_path: Path):
    """The same generator in another clone (or home folder, or cluster mount) finds the same cells; a
    retrained one at the same path does not."""
    here, there = tmp_path / "clone-a" / "generator.pt", tmp_path / "clone-b" / "generator.pt"
    for path in (here, there):
        path.parent.mkdir()
        path.write_bytes(b"the same weights")
    at_a = ProtectorSpec("nullswap", {"checkpoint": str(here)}).config()
    assert at_a == ProtectorSpec("nullswap", {"checkpoint": str(there)}).config()
    assert "checkpoint" not in at_a["options"] and len(at_a["file_sha256"]["checkpoint"]) == 64
    there.write_bytes(b"retrained weights")
    assert ProtectorSpec("nullswap", {"checkpoint": str(there)}).config() != at_a


def test_a_cell_keyed_with_its_checkpoints_path_is_re_keyed_by_content(tmp_path: Path):
    checkpoint = tmp_path / "generator.pt"
    checkpoint.write_bytes(b"weights")
    today = ProtectorSpec("nullswap", {"checkpoint": str(checkpoint)}).config()
    older = {**today, "options": {**today["options"], "checkpoint": "/elsewhere/generator.pt"}}
    config = {"table": "table2", "protector": older, "recognizer": {"name": "dlib", "options": {}}}
    key = CellKey("table2", "sample", "nullswap", "dlib", 0, config_hash(config))
    path = tmp_path / "exp" / key.relpath()
    path.parent.mkdir(parents=True)
    path.write_text(dumps_cell({"schema": 1, "key": key.__dict__, "kind": "identification", "config": config,
                                "values": {"top1": 0.25}, "provenance": {}}))

    assert migrate_main([str(tmp_path / "exp"), "--write"]) == 0
    (moved,) = (tmp_path / "exp" / "cells").rglob("*.json")
    cell = json.loads(moved.read_text())
    assert cell["config"]["protector"] == json_safe(today) and cell["values"] == {"top1": 0.25}
