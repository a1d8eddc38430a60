"""Stand-ins: random-weight files saved where real weights belong, only to rehearse the plumbing.

A rehearsal (``make test-upstream``, ``make rehearse-paper``) saves randomly initialised networks at the
paths where an upstream or a library loads its published weights, so that the real code runs end to end
without the real files.  Such a file must never pass for the real one.  Each gets a marker beside it,
``<file>.standin.json``, holding the reason and the file's size and sha256; every check that looks at a
weight file (the manifest's sha256 check, the upstream runner's, the recognizer sanity gate) asks
:func:`read` and says "stand-in" instead of accepting the file or calling it corrupt.  A marker whose
sha256 no longer matches its file is stale (the real file replaced the stand-in) and is ignored.

Components report their stand-ins with :func:`record` in their provenance; :func:`reasons` finds them
anywhere in a nested provenance.  The results store refuses to write a result that carries one outside a
folder marked as a rehearsal (never under the repository's ``results/``), and the report heads every table
built from such results with :data:`REHEARSAL_HEADER`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nullswap.assets import sha256_cached, sha256_of
from nullswap.atomic import write_text

MARKER_SUFFIX = ".standin.json"
#: the first line of every table, figure and report made from results that used a stand-in
REHEARSAL_HEADER = "REHEARSAL — random weights, not results"
#: the reason recorded for a randomly initialised network saved in place of published weights
RANDOM_WEIGHTS = "random weights: rehearsal"


def marker_path(path: str | Path) -> Path:
    """Where the marker of weight file ``path`` lives: beside it, ``<name>.standin.json``."""
    path = Path(path)
    return path.with_name(path.name + MARKER_SUFFIX)


def mark(path: str | Path, reason: str = RANDOM_WEIGHTS, **facts: Any) -> Path:
    """Mark the existing file ``path`` as a stand-in (``facts``: what it is, who made it); returns the marker."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot mark {path} as a stand-in: no such file")
    record = {"reason": reason, "size": path.stat().st_size, "sha256": sha256_of(path), **facts}
    marker = marker_path(path)
    write_text(marker, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return marker


def read(path: str | Path) -> dict[str, Any] | None:
    """The marker of ``path`` when ``path`` is a stand-in, else ``None`` (no marker, or a stale one)."""
    path = Path(path)
    marker = marker_path(path)
    if not marker.is_file() or not path.is_file():
        return None
    try:
        record = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("size") != path.stat().st_size:
        return None
    if record.get("sha256") != sha256_cached(path):
        return None
    return record


def is_standin(path: str | Path) -> bool:
    return read(path) is not None


def record(path: str | Path, marker: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The provenance entry of stand-in ``path``: ``{"standin": true, "file": ..., "reason": ...}``."""
    marker = marker if marker is not None else (read(path) or {})
    return {"standin": True, "file": str(path), "reason": str(marker.get("reason") or RANDOM_WEIGHTS)}


def reasons(obj: Any) -> list[str]:
    """Every stand-in recorded anywhere in a nested provenance, as ``"<file>: <reason>"`` (sorted, unique)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if node.get("standin") is True:
                found.add(f"{node.get('file', '?')}: {node.get('reason', RANDOM_WEIGHTS)}")
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(obj)
    return sorted(found)


def summary(found: Iterable[str], limit: int = 3) -> str:
    """A short plain-language list of stand-ins for a header line."""
    found = list(found)
    if not found:
        return ""
    names = [Path(item.split(": ", 1)[0]).name for item in found[:limit]]
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return f"stand-in weights: {', '.join(names)}{more}"


class StandInRefused(RuntimeError):
    """A stand-in was about to be used by a run that is not a rehearsal; the message names it."""


def refuse_unless_rehearsal(found: Iterable[str], what: str, rehearsal: bool) -> list[str]:
    """Raise :class:`StandInRefused` when ``found`` (from :func:`reasons`) is not empty and ``rehearsal`` is
    false; return ``found`` otherwise, so a rehearsal can label what it used."""
    found = sorted(set(found))
    if found and not rehearsal:
        raise StandInRefused(
            f"{what} would use stand-in weights ({summary(found)}: {'; '.join(found[:3])}), not the published "
            "files; only a rehearsal uses them (rehearsal=true), and its outputs say so. "
            "python -m nullswap.weights list shows every weight file and what it is")
    return found
