"""A table runner for the Slurm tests that stops at one chosen cell until the test lets it go.

An array task hands its runner the config hashes of its cells (``only.cells``).  :class:`GatedRunner`
computes them with the real runner (:func:`benchmarks.execute.run`), but on reaching the held cell it
writes ``<gate>/<hash>.running`` and waits for ``<gate>/<hash>.release``.  A test that sees the marker
knows where the task is — every cell before the held one is written, the held one cannot be — and can
kill the task there however fast or slow the machine computes: no race with a computation.

The array task unpickles the runner, so this module must be importable there (the test puts ``tests/``
on ``PYTHONPATH``, which Slurm passes on to the job).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GatedRunner:
    gate: str
    hold: str
    #: how long the held cell waits before it gives up (a test that died without killing the task)
    timeout_s: float = 900.0

    def running_marker(self) -> Path:
        return Path(self.gate) / f"{self.hold}.running"

    def release_marker(self) -> Path:
        return Path(self.gate) / f"{self.hold}.release"

    def wait_at_the_gate(self) -> None:
        array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
        job = f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID", "")
        self.running_marker().write_text(job + "\n")  # which Slurm job waits here
        deadline = time.monotonic() + self.timeout_s
        while not self.release_marker().exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"cell {self.hold} held for {self.timeout_s:.0f} s and never released")
            time.sleep(0.2)

    def __call__(self, cfg: dict[str, Any]):
        from benchmarks.execute import RunReport, run

        only = dict(cfg.get("only") or {})
        hashes = list(only.get("cells") or [])
        if self.hold not in hashes:
            return run(cfg)
        batches = [hashes[: hashes.index(self.hold)], hashes[hashes.index(self.hold) :]]
        report: RunReport | None = None
        for batch in batches:
            if not batch:
                continue
            if batch[0] == self.hold:
                self.wait_at_the_gate()
            part = run({**cfg, "only": {**only, "cells": batch}})
            if report is None:
                report = part
            else:
                report.computed += part.computed
                report.skipped += part.skipped
                report.outputs += part.outputs
        return report
