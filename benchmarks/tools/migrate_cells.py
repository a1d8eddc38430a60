"""Re-key result cells written under an older form of a protector's configuration.

Cells are found by the hash of their configuration.  Since protector options are hashed *complete* —
the adapter's declared defaults under the ones a config spelled out (:func:`benchmarks.specs.semantic_options`)
— a cell written when a default was left to the class carries an older hash for the same measurement,
and a new run would compute it again.  This command rewrites such cells under today's hash: the
configuration gains the default values the adapter ran with, the measured values are untouched, and
the provenance records the old hash.  The same holds for files counted by their digest (a checkpoint, a
perturbation): cells written when their path was hashed beside the digest are re-keyed without the path, so
a clone elsewhere finds them.  Without ``--write`` it only lists what it would do.

    python -m benchmarks.tools.migrate_cells results            # dry run over every experiment
    python -m benchmarks.tools.migrate_cells results --write
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from benchmarks.specs import canonical_protector_config
from benchmarks.store import CellKey, atomic_write_text, config_hash, dumps_cell

REASON = ("protector config in today's form: options completed with the adapter's declared defaults, files counted "
          "by their digest only (benchmarks.specs.canonical_protector_config)")


def cell_files(roots: Sequence[Path]) -> Iterator[Path]:
    for root in roots:
        yield from sorted(p for p in root.rglob("*.json") if "cells" in p.parts)


def migrated(record: dict[str, Any]) -> dict[str, Any] | None:
    """The cell under today's hash, or ``None`` when it already has it (or has no protector)."""
    config = record.get("config") or {}
    protector = config.get("protector")
    if not isinstance(protector, dict):
        return None
    new_config = {**config, "protector": canonical_protector_config(protector)}
    new_hash = config_hash(new_config)
    old_hash = record["key"]["config_hash"]
    if new_hash == old_hash:
        return None
    provenance = dict(record.get("provenance") or {})
    provenance["migrated"] = [*(provenance.get("migrated") or []), {"from_config_hash": old_hash, "reason": REASON}]
    return {**record, "key": {**record["key"], "config_hash": new_hash}, "config": new_config,
            "provenance": provenance}


def experiment_root(path: Path) -> Path:
    """The experiment folder that holds ``path`` (the parent of its ``cells`` folder)."""
    parts = path.parts
    return Path(*parts[: len(parts) - 1 - parts[::-1].index("cells")])


def migrate(roots: Sequence[Path], write: bool) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in cell_files(roots):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            counts["unreadable"] += 1
            print(f"  skip (unreadable): {path}")
            continue
        if not isinstance(record, dict) or "key" not in record:
            continue
        new = migrated(record)
        if new is None:
            counts["current"] += 1
            continue
        target = experiment_root(path) / CellKey(**new["key"]).relpath()
        counts["migrated"] += 1
        print(f"  {path} -> {target.name}")
        if write:
            if target.exists():
                counts["already present"] += 1
            else:
                atomic_write_text(target, dumps_cell(new))
            path.unlink()
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools.migrate_cells", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("roots", nargs="+", type=Path, help="experiment folders, or a folder above them")
    parser.add_argument("--write", action="store_true", help="rewrite the cells (default: only list them)")
    args = parser.parse_args(argv)
    missing = [str(r) for r in args.roots if not r.is_dir()]
    if missing:
        parser.error(f"not a folder: {', '.join(missing)}")
    counts = migrate(args.roots, args.write)
    verb = "rewritten" if args.write else "to rewrite (dry run; --write to do it)"
    print(f"{counts['migrated']} cells {verb}, {counts['current']} already current"
          + (f", {counts['unreadable']} unreadable" if counts["unreadable"] else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
