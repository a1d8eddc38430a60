"""Which files ``nullswap protect`` reads and which it writes — decided, and checked, before any work.

The guarantees a user relies on are all settled here, on paths alone, so a run that would break one is
refused before a single file is written:

* **inputs**: photos named on the command line, and the image files under folders named there — minus
  the output folder when it lies inside an input folder, files that a ``protect_report.json`` found in
  the inputs or the output folder lists as outputs, and half-written temporary files of an interrupted
  run.  A photo reached twice (a folder and its sub-folder, a file given twice) is one input;
* **outputs**: ``<out>/<sub-folders of the input>/<stem><suffix>.png``.  When two inputs would get the
  same output name (``a.jpg`` and ``a.png``), *each* of them keeps its extension in the name instead
  (``a.jpg_protected.png``, ``a.png_protected.png``); if even those collide (same relative path under
  two input folders), a short hash of the source path is added (``a.jpg-1f2e3d4c_protected.png``).
  Names are compared case-insensitively, so the rule holds on every file system;
* **refusals** (:class:`PlanError`, exit code 2, nothing written): an output name that is an input
  photo (``--suffix "" -o <input folder>``), a suffix that is a path, an output folder that is a file,
  an existing ``protect_report.json`` that is not a report of this program.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
REPORT_NAME = "protect_report.json"
REPORT_FORMAT = "nullswap-protect-report-v2"


class PlanError(ValueError):
    """A setting that could lose or overwrite a photo; the message says what to change."""


@dataclass(frozen=True)
class Planned:
    """One input photo and the file its protected version goes to (both absolute)."""

    source: Path
    target: Path


@dataclass
class Plan:
    photos: list[Planned]
    out_dir: Path
    report: Path
    excluded: list[dict[str, str]]   # files under the input folders that are not inputs, and why


def _key(path: Path) -> str:
    """Collision key of an output name: case-folded, so two names that one file system would take for
    the same file never coexist (inputs are told apart by their exact path)."""
    return os.path.normcase(str(path)).casefold()


def _is_temporary(path: Path) -> bool:
    """An atomic writer's unfinished file (``.<stem>.<random>.part<suffix>``)."""
    return path.name.startswith(".") and ".part" in path.name


def read_report(path: Path) -> dict | None:
    """A previous report, or ``None`` when there is none; a file of that name that is not one is refused."""
    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"{path} exists but is not a readable protect report ({exc}); move it away or "
                        "choose another output folder with -o") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("photos"), list):
        raise PlanError(f"{path} exists but is not a protect report; move it away or choose another -o")
    return payload


def listed_outputs(report: dict | None) -> set[str]:
    """Absolute paths of every output file a report says this program wrote (now or earlier)."""
    if not report:
        return set()
    paths: set[str] = set()
    for item in report["photos"]:
        if isinstance(item, dict):
            for output in [item.get("output"), *item.get("earlier_outputs", [])]:
                if output:
                    paths.add(str(Path(output).resolve()))
    return paths


def _walk(folder: Path, out_dir: Path) -> tuple[list[Path], list[dict[str, str]], list[Path]]:
    """Image files under ``folder`` (sorted), what was left out and why, and reports found."""
    photos: list[Path] = []
    excluded: list[dict[str, str]] = []
    reports: list[Path] = []
    skip_out = out_dir != folder and folder in out_dir.parents
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        if skip_out and here == out_dir:
            excluded.append({"path": str(here), "reason": "the output folder (inside an input folder)"})
            dirs[:] = []
            continue
        dirs.sort()
        for name in sorted(files):
            path = here / name
            if name == REPORT_NAME:
                reports.append(path)
            elif path.suffix.lower() in IMAGE_SUFFIXES:
                if _is_temporary(path):
                    excluded.append({"path": str(path), "reason": "unfinished temporary file"})
                else:
                    photos.append(path)
    return photos, excluded, reports


def collect(inputs: Sequence[Path], out_dir: Path) -> tuple[list[tuple[Path, Path | None]], list[dict[str, str]]]:
    """Input photos as (absolute path, the input folder it was found under or None), each once."""
    out_dir = out_dir.resolve()
    seen: dict[str, int] = {}
    found: list[tuple[Path, Path | None]] = []
    excluded: list[dict[str, str]] = []
    reports: list[Path] = [out_dir / REPORT_NAME]
    walked: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {item}")
        path = path.resolve()
        if path.is_dir():
            photos, left_out, more_reports = _walk(path, out_dir)
            excluded += left_out
            reports += more_reports
            walked += [(photo, path) for photo in photos]
        elif str(path) not in seen:
            seen[str(path)] = len(found)
            found.append((path, None))
    outputs: set[str] = set()
    for report in dict.fromkeys(reports):
        outputs |= listed_outputs(read_report(report))
    for photo, root in walked:
        key = str(photo)
        if key in outputs:
            excluded.append({"path": str(photo), "reason": "an output of an earlier run (listed in a report)"})
        elif key not in seen:
            seen[key] = len(found)
            found.append((photo, root))
        elif found[seen[key]][1] is not None and root in found[seen[key]][1].parents:
            found[seen[key]] = (photo, root)  # mirror sub-folders from the outermost input folder
    return found, excluded


def _relative(photo: Path, root: Path | None) -> Path:
    return Path(photo.name) if root is None else photo.relative_to(root)


def _candidate(relative: Path, source: Path, suffix: str, stage: int) -> Path:
    if stage == 0:
        name = relative.stem + suffix + ".png"
    elif stage == 1:
        name = relative.name + suffix + ".png"
    else:
        digest = hashlib.sha256(str(source).encode()).hexdigest()[:8]
        name = f"{relative.name}-{digest}{suffix}.png"
    return relative.parent / name


def name_outputs(found: Sequence[tuple[Path, Path | None]], out_dir: Path, suffix: str) -> list[Path]:
    """Unique output paths by the naming rule of the module docstring."""
    relatives = [_relative(photo, root) for photo, root in found]
    stages = [0] * len(found)
    while True:
        targets = [out_dir / _candidate(rel, photo, suffix, stage)
                   for rel, (photo, _root), stage in zip(relatives, found, stages)]
        groups: dict[str, list[int]] = defaultdict(list)
        for index, target in enumerate(targets):
            groups[_key(target)].append(index)
        clashing = [i for members in groups.values() if len(members) > 1 for i in members]
        if not clashing:
            return targets
        if all(stages[i] == 2 for i in clashing):
            raise PlanError("could not give every photo its own output name: "
                            + ", ".join(str(targets[i]) for i in clashing[:5]))
        for index in clashing:
            stages[index] = min(stages[index] + 1, 2)


def _check_suffix(suffix: str) -> None:
    if any(sep in suffix for sep in ("/", "\\", os.sep)) or suffix in (".", ".."):
        raise PlanError(f"--suffix {suffix!r} must be part of a file name, not a path")


def make_plan(inputs: Sequence[Path], out_dir: Path, suffix: str) -> Plan:
    """Inputs, outputs and refusals for one run; raises :class:`PlanError` or ``FileNotFoundError``."""
    _check_suffix(suffix)
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise PlanError(f"output folder {out_dir} is a file; choose a folder with -o")
    found, excluded = collect(inputs, out_dir)
    targets = name_outputs(found, out_dir, suffix)
    inputs_by_key = {_key(photo): photo for photo, _ in found}
    overwrites = [(inputs_by_key[_key(t)], t) for t in targets if _key(t) in inputs_by_key]
    if overwrites:
        shown = "; ".join(f"{t} is the input photo {p}" for p, t in overwrites[:5])
        raise PlanError(
            f"refusing to run: {len(overwrites)} output(s) would overwrite an input photo ({shown}). "
            "Use another output folder (-o) or a non-empty --suffix; nothing was written"
        )
    report = out_dir / REPORT_NAME
    read_report(report)
    planned = [Planned(photo, target) for (photo, _), target in zip(found, targets)]
    return Plan(planned, out_dir, report, excluded)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def photo_seed(content_sha256: str, seed: int) -> int:
    """The cloak's noise seed for one photo: its content mixed with the user's ``--seed`` (same photo →
    same protected result; two different photos never share a noise pattern)."""
    return int(hashlib.sha256(f"{content_sha256}/{int(seed)}".encode()).hexdigest()[:15], 16)
