"""Run an upstream system's driver inside its own environment: files in, files out.

The baselines and face swappers the paper compares with pin conflicting versions of Python, torch and
friends, and several ship checkpoints that are pickled whole modules.  None of them can be imported into
this process, so each runs behind a file boundary: :class:`ExternalRunner` checks that the checkout is
at the pinned commit, that the environment's python exists and that every weight file is present,
writes the inputs as PNG files plus a JSON request, runs the driver with the environment's python (in
its own process group, with a timeout), and reads back output PNGs plus a JSON of per-item status
(:mod:`nullswap.upstream.protocol`).  Logs (``driver.log``), the request and the status stay in the run
folder; the PNG folders are temporary.
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from nullswap import standin
from nullswap.assets import sha256_of, verified
from nullswap.atomic import write_text
from nullswap.provenance import git_commit
from nullswap.upstream import messages
from nullswap.upstream.errors import (
    ExternalRunError,
    ExternalTimeout,
    MissingUpstreamWeights,
    UpstreamNotReady,
)
from nullswap.upstream.layout import UpstreamLayout
from nullswap.upstream.protocol import EXIT_MISSING_WEIGHTS, PROTOCOL_DIR, PROTOCOL_VERSION
from nullswap.upstream.spec import UpstreamSpec, WeightSpec


def _tail(path: Path, lines: int = 40) -> str:
    if not path.is_file():
        return ""
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


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


def driver_device(requested: str | None, visible: str | None) -> tuple[str, str | None]:
    """``(device the driver is told, CUDA_VISIBLE_DEVICES for its process)`` for a requested device.

    Upstream code picks its device on its own (``cuda:0`` hard-coded, module-level ``'cuda' if
    available``), so a request is honoured by what the process can see: ``cpu`` hides every GPU,
    ``cuda:N`` shows only the N-th visible one (the driver then calls it ``cuda:0``), ``cuda`` and
    ``auto`` leave the caller's visibility alone (``None``: unchanged).
    """
    requested = str(requested or "auto")
    if requested == "cpu":
        return "cpu", ""
    if requested.startswith("cuda:"):
        index = int(requested.split(":", 1)[1])
        devices = [d.strip() for d in visible.split(",") if d.strip()] if visible else None
        if devices is not None and index >= len(devices):
            raise ValueError(f"device {requested} requested but CUDA_VISIBLE_DEVICES={visible!r} shows {len(devices)}")
        return "cuda:0", devices[index] if devices is not None else str(index)
    if requested in ("auto", "cuda"):
        return requested, None
    raise ValueError(f"unknown device {requested!r}: use auto, cpu, cuda or cuda:N")


class ExternalRunner:
    """Run ``spec``'s driver on images; paths as in :mod:`nullswap.upstream.layout`.

    ``root`` defaults to ``$NULLSWAP_HOME/upstream``; ``checkout`` and ``python`` override where the
    clone and the environment are (also ``NULLSWAP_UPSTREAM_<NAME>_CHECKOUT`` and ``..._PYTHON``).
    ``accept_unpinned`` runs a checkout that is not a git clone at the pinned commit (a copy of the tree,
    a fork, another commit); it is never the default, it is logged at every run, and the provenance
    records the run as unpinned with the commit found (or none).
    """

    def __init__(
        self,
        spec: UpstreamSpec,
        root: str | Path | None = None,
        *,
        checkout: str | Path | None = None,
        python: str | Path | None = None,
        accept_unpinned: bool = False,
    ) -> None:
        self.spec = spec
        self.layout = UpstreamLayout.resolve(spec.name, root, checkout=checkout, python=python)
        self.root = self.layout.home.parent
        self.home = self.layout.home
        self.checkout = self.layout.checkout
        self.python = self.layout.python
        self.lock_path = self.layout.lock_path
        self.accept_unpinned = bool(accept_unpinned)

    # ---- readiness -----------------------------------------------------------------------------
    def checkout_commit(self) -> str | None:
        """``git rev-parse HEAD`` of the checkout, or ``None`` when it is not a git checkout."""
        if not (self.checkout / ".git").exists():
            return None
        return git_commit(self.checkout)

    def _lock(self) -> dict[str, str]:
        try:
            return json.loads(self.lock_path.read_text())
        except (OSError, ValueError):
            return {}

    def pin_state(self) -> dict[str, object]:
        """The pin check's facts for provenance: pinned commit, commit found (``None``: not a git clone)."""
        head = self.checkout_commit() if self.checkout.is_dir() else None
        pinned = head is not None and head.startswith(self.spec.commit)
        return {
            "expected": self.spec.commit,
            "found": head,
            "pinned": pinned,
            "accepted_unpinned": (not pinned) and self.accept_unpinned,
        }

    def weight_ok(self, weight: WeightSpec, record: bool = True) -> tuple[bool, str]:
        """Whether ``weight`` is present and matches its sha256 (stated, or recorded on first sight).

        A marked stand-in (:mod:`nullswap.standin`) is accepted as such — never hashed into the lock,
        so the published file is still accepted when it replaces the stand-in — and says so."""
        path = self.checkout / weight.path
        if not path.is_file():
            return False, "absent"
        marker = standin.read(path)
        if marker is not None:
            return True, f"stand-in ({marker.get('reason', standin.RANDOM_WEIGHTS)})"
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
            write_text(self.lock_path, json.dumps(lock, indent=2, sort_keys=True) + "\n")
            return True, f"sha256 {lock[weight.path]} recorded on first use"
        return True, "present (no sha256 stated)"

    def problems(
        self, mode: str | None = None, options: Mapping[str, object] | None = None
    ) -> tuple[list[str], list[str]]:
        """(setup problems, missing weights) — each a sentence naming the file and the fix."""
        setup: list[str] = []
        spec = self.spec
        if not self.checkout.is_dir():
            setup.append(messages.missing_checkout(spec, self.checkout))
        elif not self.accept_unpinned:
            head = self.checkout_commit()
            if head is None:
                setup.append(messages.not_a_checkout(spec, self.checkout))
            elif not head.startswith(spec.commit):
                setup.append(messages.wrong_commit(spec, self.checkout, head))
        if not self.python.is_file():
            setup.append(messages.missing_environment(spec, self.python))
        missing: list[str] = []
        for weight in spec.weights_for(mode, options):
            ok, state = self.weight_ok(weight) if self.checkout.is_dir() else (False, "checkout missing")
            if not ok:
                missing.append(messages.weight_message(self.checkout, weight, state))
        return setup, missing

    def standins(
        self, mode: str | None = None, options: Mapping[str, object] | None = None
    ) -> list[dict[str, object]]:
        """Provenance records of the weight files of ``mode`` and ``options`` that are marked stand-ins."""
        return [
            standin.record(self.checkout / w.path)
            for w in self.spec.weights_for(mode, options)
            if standin.read(self.checkout / w.path) is not None
        ]

    def describe(
        self, mode: str | None = None, options: Mapping[str, object] | None = None
    ) -> dict[str, object]:
        """Provenance of the checkout: the pin check's facts and any stand-in weights."""
        facts: dict[str, object] = {"pin": self.pin_state()}
        found = self.standins(mode, options)
        if found:
            facts["standin_weights"] = found
        return facts

    def device_problem(self, device: str | None, mode: str | None = None) -> str | None:
        """The sentence refusing a CPU run of an upstream whose code hard-codes CUDA, else ``None``."""
        if str(device) == "cpu" and self.spec.needs_cuda(mode):
            what = f"in mode '{mode}' " if mode and not isinstance(self.spec.requires_cuda, bool) else ""
            return (
                f"upstream '{self.spec.name}' {what}runs only on a CUDA device (its code hard-codes CUDA); "
                "device=cpu was requested: use device=auto or cuda[:N] on a machine with a GPU"
            )
        return None

    def check_device(self, device: str, mode: str | None = None) -> None:
        """Refuse, before anything runs, a CPU run of an upstream whose code hard-codes CUDA."""
        problem = self.device_problem(device, mode)
        if problem:
            raise UpstreamNotReady(problem, [problem])

    def env_command(self) -> str:
        """The command that builds this upstream's environment from its spec."""
        return messages.env_command(self.spec, self.layout.env_dir)

    def check(
        self, mode: str | None = None, options: Mapping[str, object] | None = None, device: str | None = None
    ) -> None:
        """Raise :class:`UpstreamNotReady` (or :class:`MissingUpstreamWeights`) listing everything missing
        for a run in ``mode`` with driver ``options`` on ``device`` (every file the driver will load, nothing
        else, and a device its code cannot use), all at once."""
        setup, missing = self.problems(mode, options)
        device_problem = self.device_problem(device, mode)
        if device_problem:
            setup.append(device_problem)
        if not setup and not missing:
            return
        cls = MissingUpstreamWeights if not setup else UpstreamNotReady
        raise cls(messages.not_ready(self.spec, setup + missing), setup + missing)

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
        targets: Sequence[np.ndarray] | Mapping[str, np.ndarray] | None = None,
    ) -> ExternalResult:
        """Run the driver on ``images`` (H×W×3 uint8 RGB arrays; a mapping keeps the caller's ids).

        ``targets`` (same ids, or the same order) makes every item a face-swap pair: ``images`` are the
        sources, ``targets`` the faces swapped onto; the driver reads them with ``Driver.pairs()``.

        Raises :class:`UpstreamNotReady` before starting anything when a piece is missing,
        :class:`ExternalTimeout` when the driver runs past ``timeout`` seconds (its process group is
        killed), and :class:`ExternalRunError` on a non-zero exit or a malformed status file.
        """
        self.check(mode, options if options is not None else {})
        self.check_device(device, mode)
        items = (
            dict(images) if isinstance(images, Mapping) else {f"{i:06d}": im for i, im in enumerate(images)}
        )
        pairs = None
        if targets is not None:
            pairs = (
                dict(targets) if isinstance(targets, Mapping) else dict(zip(items, targets, strict=True))
            )
            if set(pairs) != set(items):
                raise ValueError("targets must have exactly the ids of the source images")
        for key, image in [*items.items(), *(pairs or {}).items()]:
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
            else (self.layout.runs / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}")
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
                entry = {"id": str(key), "file": name}
                if pairs is not None:
                    entry["target_file"] = f"{index:06d}.target.png"
                    Image.fromarray(pairs[key]).save(input_dir / entry["target_file"])
                entries.append(entry)
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
                "device": driver_device(device, os.environ.get("CUDA_VISIBLE_DEVICES"))[0],
                "device_requested": device,
                "mode": mode,
                "pin": self.pin_state(),
            }
            request_path = run_dir / "request.json"
            write_text(request_path, json.dumps(request, indent=2) + "\n")
            start = time.monotonic()
            returncode = self._execute(request_path, log_path, timeout, device)
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

    def driver_environment(self, device: str = "auto") -> dict[str, str]:
        """The driver process's environment: the caller's, minus this interpreter's Python settings, with
        the upstream environment's ``bin/`` first on PATH (so ``python``, ``ninja``, ``nvcc`` that its
        code calls by name are its own), ``CUDA_HOME`` at the environment when it has its own ``nvcc``
        and the upstream builds CUDA ops, the spec's own variables, and the GPUs ``device`` allows."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env["PYTHONPATH"] = str(PROTOCOL_DIR)
        env["PYTHONUNBUFFERED"] = "1"
        env["NULLSWAP_DRIVER_PROTOCOL"] = str(PROTOCOL_VERSION)
        env_bin = self.python.parent
        env["PATH"] = os.pathsep.join([str(env_bin), *[p for p in env.get("PATH", "").split(os.pathsep) if p]])
        env_dir = self.layout.env_dir
        if self.spec.env_kind == "conda":
            env["CONDA_PREFIX"] = str(env_dir)
        if self.spec.builds_cuda_ops and (env_bin / "nvcc").is_file():
            env["CUDA_HOME"] = str(env_dir)
        for key, value in self.spec.env_vars.items():
            env[key] = value.format(checkout=self.checkout, env=env_dir, home=self.home)
        visible = driver_device(device, os.environ.get("CUDA_VISIBLE_DEVICES"))[1]
        if visible is not None:
            env["CUDA_VISIBLE_DEVICES"] = visible
        return env

    def _execute(self, request_path: Path, log_path: Path, timeout: float | None, device: str = "auto") -> int:
        env = self.driver_environment(device)
        command = [str(self.python), str(self.spec.driver_path), "--request", str(request_path)]
        pin = self.pin_state()
        with open(log_path, "ab") as log:
            log.write(f"$ {' '.join(command)}\n  (cwd {self.checkout})\n".encode())
            if not pin["pinned"]:
                found = pin["found"] or "not a git checkout"
                log.write(f"  UNPINNED checkout accepted: {found} (pinned commit {self.spec.commit})\n".encode())
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
                messages.weights_boundary(self.spec.name, message, log_path),
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


