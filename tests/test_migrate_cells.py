"""Old cells are re-keyed, not recomputed, when protector options become complete in the hash."""

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
