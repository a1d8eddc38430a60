"""The shared external runner: drive an upstream system inside its own environment, files in, files out.

The baselines and face swappers the paper compares with pin conflicting versions of Python, torch and
friends, and several ship checkpoints that are pickled whole modules.  None of them can be imported into
this process.  Each one therefore runs behind a file boundary:

* an :class:`UpstreamSpec` names the repository, the pinned commit, the kind of environment and the
  file that describes it (``baselines/envs/``), the driver script of ours that runs inside it
  (``baselines/drivers/``), and the weight files the checkout must contain;
* :class:`ExternalRunner` checks that the checkout is at the pinned commit, that the environment's
  python exists and that every weight file is present, writes the inputs as PNG files plus a JSON
  request, runs the driver with the environment's python (in its own process group, with a timeout),
  and reads back output PNGs plus a JSON of per-image status.

The driver protocol (version 1), shared with ``baselines/drivers/driver_protocol.py``::

    python DRIVER --request RUN_DIR/request.json          (cwd = the upstream checkout)

    request.json  {"protocol": 1, "upstream": {"name", "checkout", "commit"}, "input_dir", "output_dir",
                   "status_path", "items": [{"id", "file"}], "options": {...}, "seed": int,
                   "device": "auto"|"cpu"|"cuda"}
    status.json   {"protocol": 1, "ok": bool, "error": null | {"kind", "message"},
                   "items": [{"id", "status": "ok"|"failed", "file", "message"}], "info": {...}}

Exit status 0 means the driver ran (items may still have failed one by one); 3 means it stopped at the
weights boundary (a file is missing; ``error.message`` says which); anything else is a crash.  Logs
(``driver.log``), the request and the status stay in the run folder; the PNG folders are temporary.
Where the checkout, environment or weights are missing, ``python -m benchmarks.setup NAME`` builds
them where the internet exists and otherwise says exactly what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from nullswap.assets import cache_root, sha256_of, verified

PROTOCOL_VERSION = 1
#: exit status of a driver that stopped because a weight file is missing
EXIT_MISSING_WEIGHTS = 3
REPO_ROOT = Path(__file__).resolve().parent.parent
DRIVERS_DIR = REPO_ROOT / "baselines" / "drivers"
ENVS_DIR = REPO_ROOT / "baselines" / "envs"

EnvKind = Literal["venv", "conda"]


@dataclass(frozen=True)
class WeightSpec:
    """One file an upstream checkout must contain before its driver can run.

    ``url`` is where its publisher distributes it; ``fetch`` says how ``benchmarks.setup`` can get it:
    ``url`` (the file itself), ``zip`` (an archive holding it), ``gdrive`` (a Google Drive file or folder,
    through gdown; archives inside are unpacked) or ``manual`` (only instructions can be given).  After a
    download the file is found in the staged tree by its name (``member`` when the archive calls it
    something else).  ``sha256`` is ``None`` where the publisher states none; the runner then records the
    hash it sees first (``weights.lock.json``) and refuses a file that later differs from it.
    """

    path: str
    url: str
    fetch: Literal["url", "zip", "gdrive", "manual"] = "manual"
    sha256: str | None = None
    member: str | None = None
    note: str = ""
    #: only some modes of a driver need this file (e.g. DF-RAP's SimSwap mode); names those modes
    modes: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpstreamSpec:
    """Everything needed to run one upstream system behind the file boundary."""

    name: str
    repo_url: str
    commit: str
    env_kind: EnvKind
    env_spec: str | Path
    driver: str | Path
    weights: tuple[WeightSpec, ...] = ()
    python_version: str = "3.10"
    licence: str = ""
    notes: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def env_spec_path(self) -> Path:
        path = Path(self.env_spec)
        return path if path.is_absolute() else ENVS_DIR / path

    @property
    def driver_path(self) -> Path:
        path = Path(self.driver)
        return path if path.is_absolute() else DRIVERS_DIR / path

    def weights_for(self, mode: str | None = None) -> tuple[WeightSpec, ...]:
        """The weight files a run in ``mode`` needs (files without modes are always needed)."""
        return tuple(w for w in self.weights if not w.modes or (mode is not None and mode in w.modes))


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------
class ExternalRunError(RuntimeError):
    """An upstream driver failed; the message carries the tail of its log and where the log is."""

    def __init__(self, message: str, log_path: Path | None = None, tail: str = "") -> None:
        super().__init__(message)
        self.log_path = log_path
        self.tail = tail


class ExternalTimeout(ExternalRunError):
    """The driver ran past its timeout; its whole process group was killed."""


class UpstreamNotReady(ExternalRunError):
    """The checkout, environment or weights are missing; the message lists each problem and the fix."""

    def __init__(self, message: str, problems: Sequence[str]) -> None:
        super().__init__(message)
        self.problems = list(problems)


class MissingUpstreamWeights(UpstreamNotReady):
    """The checkout and environment exist but weight files are missing (the weights boundary)."""


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------
@dataclass
class ItemResult:
    id: str
    status: str
    image: np.ndarray | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.image is not None


@dataclass
class ExternalResult:
    items: list[ItemResult]
    info: dict[str, object]
    run_dir: Path
    log_path: Path
    seconds: float

    def by_id(self) -> dict[str, ItemResult]:
        return {item.id: item for item in self.items}


# --------------------------------------------------------------------------------------------------
# Spec registry (adapters register their upstreams at import; benchmarks.setup looks them up)
# --------------------------------------------------------------------------------------------------
UPSTREAMS: dict[str, UpstreamSpec] = {}


def register_upstream(spec: UpstreamSpec) -> UpstreamSpec:
    existing = UPSTREAMS.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"upstream '{spec.name}' is registered twice with different specs")
    UPSTREAMS[spec.name] = spec
    return spec


def known_upstreams() -> dict[str, UpstreamSpec]:
    """Every registered upstream (imports the adapter packages so that they register)."""
    import baselines

    baselines.available()
    with contextlib.suppress(ImportError):
        import swappers

        if hasattr(swappers, "available"):
            swappers.available()
    return dict(sorted(UPSTREAMS.items()))


def upstream_root() -> Path:
    """Where checkouts, environments and run logs live: ``$NULLSWAP_HOME/upstream``."""
    return cache_root() / "upstream"


def _env_override(name: str, what: str) -> Path | None:
    value = os.environ.get(f"NULLSWAP_UPSTREAM_{name.upper().replace('-', '_')}_{what}")
    return Path(value).expanduser() if value else None


def _tail(path: Path, lines: int = 40) -> str:
    if not path.is_file():
        return ""
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


# --------------------------------------------------------------------------------------------------
# The runner
# --------------------------------------------------------------------------------------------------
class ExternalRunner:
    """Run ``spec``'s driver on images.  Layout under ``root`` (default ``$NULLSWAP_HOME/upstream``)::

        <root>/<name>/checkout/           git clone at the pinned commit (weights inside, as upstream expects)
        <root>/<name>/env/bin/python      the venv or conda prefix built from the env spec
        <root>/<name>/weights.lock.json   sha256 of weights first seen (publishers state none)
        <root>/<name>/runs/<stamp>/       request.json, status.json, driver.log of each run

    ``checkout`` and ``python`` override the first two (also ``NULLSWAP_UPSTREAM_<NAME>_CHECKOUT`` and
    ``..._PYTHON``), for users who already have a clone and an environment.
    """

    def __init__(
        self,
        spec: UpstreamSpec,
        root: str | Path | None = None,
        *,
        checkout: str | Path | None = None,
        python: str | Path | None = None,
    ) -> None:
        self.spec = spec
        self.root = Path(root).expanduser() if root is not None else upstream_root()
        self.home = self.root / spec.name
        self.checkout = (
            Path(checkout).expanduser()
            if checkout
            else (_env_override(spec.name, "CHECKOUT") or self.home / "checkout")
        )
        self.python = (
            Path(python).expanduser()
            if python
            else (_env_override(spec.name, "PYTHON") or self.home / "env" / "bin" / "python")
        )
        self.lock_path = self.home / "weights.lock.json"

    # ---- readiness -----------------------------------------------------------------------------
    def checkout_commit(self) -> str | None:
        """``git rev-parse HEAD`` of the checkout, or ``None`` when it is not a git checkout."""
        if not (self.checkout / ".git").exists():
            return None
        proc = subprocess.run(
            ["git", "-C", str(self.checkout), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    def _lock(self) -> dict[str, str]:
        try:
            return json.loads(self.lock_path.read_text())
        except (OSError, ValueError):
            return {}

    def weight_ok(self, weight: WeightSpec, record: bool = True) -> tuple[bool, str]:
        """Whether ``weight`` is present and matches its sha256 (stated, or recorded on first sight)."""
        path = self.checkout / weight.path
        if not path.is_file():
            return False, "absent"
        expected = weight.sha256 or self._lock().get(weight.path)
        if expected is not None:
            return (
                (True, "sha256 ok")
                if verified(path, expected)
                else (False, f"sha256 differs from {expected}")
            )
        if record:
            lock = self._lock()
            lock[weight.path] = sha256_of(path)
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            self.lock_path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
            return True, f"sha256 {lock[weight.path]} recorded on first use"
        return True, "present (no sha256 stated)"

    def problems(self, mode: str | None = None) -> tuple[list[str], list[str]]:
        """(setup problems, missing weights) — each a sentence naming the file and the fix."""
        setup: list[str] = []
        spec = self.spec
        if not self.checkout.is_dir():
            setup.append(
                f"no checkout of {spec.repo_url} at {self.checkout}\n"
                f"    fix: git clone {spec.repo_url} {self.checkout} && "
                f"git -C {self.checkout} checkout {spec.commit}"
            )
        else:
            head = self.checkout_commit()
            if head is None:
                setup.append(f"{self.checkout} is not a git checkout (git rev-parse HEAD failed)")
            elif not head.startswith(spec.commit):
                setup.append(
                    f"{self.checkout} is at commit {head[:12]}, the pinned commit is {spec.commit}\n"
                    f"    fix: git -C {self.checkout} fetch && git -C {self.checkout} checkout {spec.commit}"
                )
        if not self.python.is_file():
            setup.append(
                f"no {spec.env_kind} environment: {self.python} does not exist\n    fix: {self.env_command()}"
            )
        missing: list[str] = []
        for weight in spec.weights_for(mode):
            ok, state = self.weight_ok(weight) if self.checkout.is_dir() else (False, "checkout missing")
            if not ok:
                missing.append(weight_message(self.checkout, weight, state))
        return setup, missing

    def env_command(self) -> str:
        """The command that builds this upstream's environment from its spec."""
        env = self.python.parent.parent
        if self.spec.env_kind == "conda":
            return f"conda env create -p {env} -f {self.spec.env_spec_path}"
        return (
            f"python{self.spec.python_version} -m venv {env} && "
            f"{env}/bin/pip install -r {self.spec.env_spec_path}"
        )

    def check(self, mode: str | None = None) -> None:
        """Raise :class:`UpstreamNotReady` (or :class:`MissingUpstreamWeights`) listing what is missing."""
        setup, missing = self.problems(mode)
        if not setup and not missing:
            return
        lines = [f"upstream '{self.spec.name}' is not ready ({self.spec.repo_url} @ {self.spec.commit}):"]
        lines += [f"  - {p}" for p in setup + missing]
        lines.append(
            f"  run `python -m benchmarks.setup {self.spec.name}` to build what can be built here"
            " (it clones, builds the environment and fetches what has a public link)."
        )
        if self.spec.licence:
            lines.append(f"  licence: {self.spec.licence}")
        cls = MissingUpstreamWeights if not setup else UpstreamNotReady
        raise cls("\n".join(lines), setup + missing)

    # ---- running -------------------------------------------------------------------------------
    def run(
        self,
        images: Sequence[np.ndarray] | Mapping[str, np.ndarray],
        options: Mapping[str, object] | None = None,
        *,
        timeout: float | None = 3600.0,
        seed: int = 0,
        device: str = "auto",
        mode: str | None = None,
        run_dir: str | Path | None = None,
        keep_files: bool = False,
    ) -> ExternalResult:
        """Run the driver on ``images`` (H×W×3 uint8 RGB arrays; a mapping keeps the caller's ids).

        Raises :class:`UpstreamNotReady` before starting anything when a piece is missing,
        :class:`ExternalTimeout` when the driver runs past ``timeout`` seconds (its process group is
        killed), and :class:`ExternalRunError` on a non-zero exit or a malformed status file.
        """
        self.check(mode)
        items = (
            dict(images) if isinstance(images, Mapping) else {f"{i:06d}": im for i, im in enumerate(images)}
        )
        for key, image in items.items():
            if (
                not isinstance(image, np.ndarray)
                or image.dtype != np.uint8
                or image.ndim != 3
                or image.shape[2] != 3
            ):
                raise ValueError(f"image '{key}': expected an H×W×3 uint8 RGB array")
        run_dir = (
            Path(run_dir)
            if run_dir is not None
            else (self.home / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}")
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        log_path = run_dir / "driver.log"
        status_path = run_dir / "status.json"
        status_path.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"nullswap-{self.spec.name}-") as tmp:
            input_dir, output_dir = Path(tmp) / "input", Path(tmp) / "output"
            input_dir.mkdir()
            output_dir.mkdir()
            entries = []
            for index, (key, image) in enumerate(items.items()):
                name = f"{index:06d}.png"
                Image.fromarray(image).save(input_dir / name)
                entries.append({"id": str(key), "file": name})
            request = {
                "protocol": PROTOCOL_VERSION,
                "upstream": {
                    "name": self.spec.name,
                    "checkout": str(self.checkout.resolve()),
                    "commit": self.spec.commit,
                },
                "input_dir": str(input_dir),
                "output_dir": str(output_dir),
                "status_path": str(status_path),
                "items": entries,
                "options": dict(options or {}),
                "seed": int(seed),
                "device": device,
                "mode": mode,
            }
            request_path = run_dir / "request.json"
            request_path.write_text(json.dumps(request, indent=2) + "\n")
            start = time.monotonic()
            returncode = self._execute(request_path, log_path, timeout)
            seconds = time.monotonic() - start
            status = self._read_status(status_path, log_path, returncode)
            results = []
            for entry in entries:
                record = status["by_id"].get(
                    entry["id"], {"status": "failed", "message": "no status reported"}
                )
                image = None
                if record.get("status") == "ok":
                    out = output_dir / str(record.get("file") or entry["file"])
                    if not out.is_file():
                        record = {
                            "status": "failed",
                            "message": f"driver reported ok but wrote no {out.name}",
                        }
                    else:
                        image = np.asarray(Image.open(out).convert("RGB"))
                results.append(
                    ItemResult(entry["id"], str(record.get("status")), image, str(record.get("message", "")))
                )
            if keep_files:  # for debugging an adapter: keep the PNGs beside the log
                shutil.copytree(tmp, run_dir / "files", dirs_exist_ok=True)
        return ExternalResult(results, dict(status["info"]), run_dir, log_path, seconds)

    def _execute(self, request_path: Path, log_path: Path, timeout: float | None) -> int:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env["PYTHONPATH"] = str(DRIVERS_DIR)
        env["PYTHONUNBUFFERED"] = "1"
        env["NULLSWAP_DRIVER_PROTOCOL"] = str(PROTOCOL_VERSION)
        command = [str(self.python), str(self.spec.driver_path), "--request", str(request_path)]
        with open(log_path, "ab") as log:
            log.write(f"$ {' '.join(command)}\n  (cwd {self.checkout})\n".encode())
            log.flush()
            proc = subprocess.Popen(
                command,
                cwd=self.checkout,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                log.write(f"\n[runner] killed after {timeout} s\n".encode())
                log.flush()
                raise ExternalTimeout(
                    f"upstream '{self.spec.name}' ran past its {timeout} s timeout and was killed "
                    f"(process group {proc.pid}); log: {log_path}\n--- last lines ---\n{_tail(log_path)}",
                    log_path,
                    _tail(log_path),
                ) from None
            except BaseException:
                _kill_group(proc)
                raise

    def _read_status(self, status_path: Path, log_path: Path, returncode: int) -> dict:
        status: dict | None = None
        with contextlib.suppress(OSError, ValueError):
            status = json.loads(status_path.read_text())
        tail = _tail(log_path)
        if returncode == EXIT_MISSING_WEIGHTS and status and status.get("error"):
            message = status["error"].get("message", "")
            raise MissingUpstreamWeights(
                f"upstream '{self.spec.name}' stopped at the weights boundary:\n{message}\n"
                f"run `python -m benchmarks.setup {self.spec.name}` for how to get it; log: {log_path}",
                [message],
            )
        if returncode != 0:
            error = (status or {}).get("error") or {}
            detail = f"{error.get('kind')}: {error.get('message')}\n" if error else ""
            raise ExternalRunError(
                f"upstream '{self.spec.name}' driver exited with status {returncode}; log: {log_path}\n"
                f"{detail}--- last lines ---\n{tail}",
                log_path,
                tail,
            )
        if (
            not isinstance(status, dict)
            or status.get("protocol") != PROTOCOL_VERSION
            or "items" not in status
        ):
            raise ExternalRunError(
                f"upstream '{self.spec.name}' driver exited 0 but wrote no valid {status_path.name} "
                f"(protocol {PROTOCOL_VERSION}); log: {log_path}\n--- last lines ---\n{tail}",
                log_path,
                tail,
            )
        status["by_id"] = {str(item.get("id")): item for item in status["items"]}
        status.setdefault("info", {})
        return status


def _kill_group(proc: subprocess.Popen) -> None:
    """Terminate the driver and everything it started (it runs in its own session)."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def weight_message(checkout: Path, weight: WeightSpec, state: str = "absent") -> str:
    """The sentence a user sees for one missing weight file."""
    text = (
        f"weight file {weight.path} ({state}) expected at {checkout / weight.path}\n    get it: {weight.url}"
    )
    if weight.member:
        text += f" (member {weight.member})"
    if weight.modes:
        text += f" (needed in mode {', '.join(weight.modes)})"
    if weight.note:
        text += f"\n    note: {weight.note}"
    return text
