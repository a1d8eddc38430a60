"""Rehearse an adapter against its real upstream code with random-weight stand-ins of the published files.

The adapters drive upstream code that nobody may copy into this project and whose weights live on
Google Drive, Dropbox or Baidu.  A rehearsal checks the plumbing end to end without those files: a copy
of the upstream's own file tree (a user's clone, or a tree at the pinned commit) is made in a scratch
folder, a per-upstream **builder script** run with the environment's python builds the upstream's own
network classes with random initial weights and saves them in the upstream's own format at the paths
its code loads them from, and every such file is marked as a stand-in (:mod:`nullswap.standin`), so the
runner accepts it as a stand-in, never locks its sha256, and every result made with it carries the
rehearsal flag.

The sources come from the folder named by ``NULLSWAP_UPSTREAM_SOURCES`` (one ``<name>/`` tree or git
checkout per upstream); without it a rehearsal has nothing to run and says why (:func:`missing_reason`).
The copy is not a git clone at the pinned commit, so the adapter runs it with ``accept_unpinned=True``
(logged and recorded as unpinned), with a temporary ``root`` so that no ``weights.lock.json`` of a real
setup is touched.

A builder script is run as ``python build_<name>.py --report REPORT --options JSON [--mode MODE]`` with the copy as
its working directory and on ``sys.path`` (as a driver sees it), so it imports the upstream's classes
from the copy; it writes ``REPORT``, a JSON object ``{"weights": [paths relative to the copy], "facts":
{...}}``.  Builders run inside the upstream's environment (old Pythons included): standard library,
numpy, torch and the upstream's own modules only.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from nullswap import standin
from nullswap.upstream.environment import is_project_python
from nullswap.upstream.protocol import PROTOCOL_DIR
from nullswap.upstream.spec import UpstreamSpec

#: the environment variable naming the folder of upstream source trees (``<folder>/<name>/``)
SOURCES_VARIABLE = "NULLSWAP_UPSTREAM_SOURCES"
#: what a rehearsal records when the upstream's pinned environment could not be built and the builder and
#: driver ran under the project's own interpreter instead
PROJECT_INTERPRETER = "the project's own interpreter (the upstream's pinned environment is not built here)"
#: folders never copied from a source tree: a git directory would make the copy look pinned, caches are noise
NOT_COPIED = (".git", "__pycache__", "*.pyc")


class RehearsalError(RuntimeError):
    """A stand-in could not be prepared (the builder failed, or a declared weight file is missing)."""


def sources_root() -> Path | None:
    """The folder named by ``NULLSWAP_UPSTREAM_SOURCES`` when it is set and exists, else ``None``."""
    value = os.environ.get(SOURCES_VARIABLE)
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None


def source_tree(name: str) -> Path | None:
    """``<sources>/<name>/`` when it exists, else ``None``."""
    root = sources_root()
    if root is None or not (root / name).is_dir():
        return None
    return root / name


def missing_reason(name: str) -> str | None:
    """Why upstream ``name`` cannot be rehearsed here (``None`` when its source tree is there)."""
    value = os.environ.get(SOURCES_VARIABLE)
    if not value:
        return f"{SOURCES_VARIABLE} is not set: point it at a folder of upstream source trees (<folder>/{name}/)"
    root = Path(value).expanduser()
    if not root.is_dir():
        return f"{SOURCES_VARIABLE}={value} is not a folder"
    if not (root / name).is_dir():
        return f"{SOURCES_VARIABLE}={value} has no {name}/ tree"
    return None


def project_python() -> Path:
    """The interpreter running this project: what a rehearsal uses when the pinned environment is absent."""
    return Path(sys.executable)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def copy_tree(source: Path, dest: Path) -> Path:
    """Copy the upstream tree ``source`` to the new folder ``dest`` (files, not ``git add``: the
    upstream's ``.gitignore`` hides some of its own tracked files, and those are copied too)."""
    source, dest = Path(source), Path(dest)
    if not source.is_dir():
        raise RehearsalError(f"no upstream tree at {source}")
    root = sources_root()
    for folder in {source, *([root] if root is not None else [])}:
        if _inside(dest, folder):
            raise RehearsalError(f"refusing to prepare a stand-in inside the sources folder {folder}: {dest}")
    if dest.exists() and any(dest.iterdir()):
        raise RehearsalError(f"{dest} exists and is not empty: a stand-in is prepared in a new folder")
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(*NOT_COPIED), dirs_exist_ok=True)
    # a read-only source (a shared copy of the trees) would otherwise give a copy nobody can build in
    for folder, _, files in os.walk(dest):
        for path in (folder, *(os.path.join(folder, name) for name in files)):
            mode = os.stat(path, follow_symlinks=False).st_mode
            if not stat.S_ISLNK(mode):
                os.chmod(path, mode | stat.S_IWUSR)
    return dest


def builder_environment(checkout: Path, gpus: str | None = "") -> dict[str, str]:
    """The builder's process environment: the caller's, minus this interpreter's Python settings, with the
    copy on ``sys.path`` (as the driver has it) and no GPU (a stand-in is built on the CPU) — unless ``gpus``
    is ``None`` (the caller's GPUs stay visible: upstreams whose modules touch CUDA at import, like E4S's face
    parser, can only be built on a GPU) or names the GPUs to show."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = os.pathsep.join([str(checkout), str(PROTOCOL_DIR)])  # + builder_protocol
    env["PYTHONUNBUFFERED"] = "1"
    if gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpus
    return env


def run_builder(
    builder: Path,
    checkout: Path,
    python: Path,
    options: Mapping[str, object] | None = None,
    *,
    mode: str | None = None,
    timeout: float = 900.0,
    gpus: str | None = "",
) -> dict[str, object]:
    """Run ``builder`` with ``python`` in ``checkout``; returns its report (``weights``, ``facts``).

    Its output goes to ``<checkout>.build.log`` beside the copy; a failure raises :class:`RehearsalError`
    with the last lines of that log."""
    checkout = Path(checkout)
    report = checkout.with_name(checkout.name + ".build.json")
    log_path = checkout.with_name(checkout.name + ".build.log")
    report.unlink(missing_ok=True)
    command = [str(python), str(Path(builder).resolve()), "--report", str(report),
               "--options", json.dumps(dict(options or {})), *(["--mode", mode] if mode else [])]
    start = time.monotonic()
    with open(log_path, "wb") as log:
        log.write(f"$ {' '.join(command)}\n  (cwd {checkout})\n".encode())
        log.flush()
        try:
            proc = subprocess.run(command, cwd=checkout, env=builder_environment(checkout, gpus), stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise RehearsalError(f"builder {Path(builder).name} ran past {timeout} s; log: {log_path}") from exc
    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
    if proc.returncode != 0 or not report.is_file():
        raise RehearsalError(
            f"builder {Path(builder).name} failed (exit {proc.returncode}); log: {log_path}\n{tail}"
        )
    try:
        result = json.loads(report.read_text())
    except ValueError as exc:
        raise RehearsalError(f"builder {Path(builder).name} wrote an unreadable report {report}: {exc}") from exc
    if not isinstance(result, dict) or not isinstance(result.get("weights", []), list):
        raise RehearsalError(f"builder {Path(builder).name}: report {report} is not {{'weights': [...]}}")
    result.setdefault("weights", [])
    result.setdefault("facts", {})
    result["seconds"] = round(time.monotonic() - start, 3)
    result["log"] = str(log_path)
    return result


def prepare_standin(
    spec: UpstreamSpec,
    source_tree: str | Path,
    dest: str | Path,
    python: str | Path,
    builder: str | Path,
    *,
    mode: str | None = None,
    options: Mapping[str, object] | None = None,
    timeout: float = 900.0,
    builder_gpus: str | None = "",
) -> Path:
    """Copy ``source_tree`` to ``dest``, build random-weight stand-ins there with ``builder`` run by
    ``python``, mark them, and return ``dest`` (the checkout to run the adapter on).

    Every weight file ``spec`` declares for ``mode`` and the driver ``options`` must exist afterwards;
    each of them, and every file the builder reports, is marked with :func:`nullswap.standin.mark`
    (reason ``random weights: rehearsal``; the builder, the interpreter and the builder's facts are kept
    in the marker).  Run the adapter on it with ``checkout=dest, python=python, accept_unpinned=True``,
    a temporary ``root``, and ``device="cpu"`` (or the GPU the rehearsal is about).  ``builder_gpus``: the
    builder sees no GPU by default; ``None`` keeps the caller's (see :func:`builder_environment`)."""
    dest = copy_tree(Path(source_tree), Path(dest))
    python = Path(python)
    report = run_builder(Path(builder), dest, python, options, mode=mode, timeout=timeout, gpus=builder_gpus)
    declared = [w.path for w in spec.weights_for(mode, options if options is not None else None)]
    reported = [str(p) for p in report["weights"]]
    missing = [p for p in declared if not (dest / p).is_file()]
    if missing:
        raise RehearsalError(
            f"builder {Path(builder).name} did not write {', '.join(missing)} (declared by upstream "
            f"'{spec.name}' for mode {mode!r}); log: {report['log']}"
        )
    interpreter = PROJECT_INTERPRETER if is_project_python(python) else str(python)
    facts = {
        "upstream": spec.name,
        "builder": Path(builder).name,
        "interpreter": interpreter,
        **{k: v for k, v in dict(report["facts"]).items() if isinstance(v, (str, int, float, bool))},
    }
    for relative in dict.fromkeys([*declared, *reported]):
        path = dest / relative
        if not path.is_file():
            raise RehearsalError(f"builder {Path(builder).name} reported {relative} but wrote no such file")
        standin.mark(path, standin.RANDOM_WEIGHTS, **facts)
    return dest
