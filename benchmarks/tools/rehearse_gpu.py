"""Rehearse the upstreams that hard-code CUDA against their real code, on a GPU: ``make rehearse-gpu``.

SimSwap, UniFace, E4S, DiffSwap and DF-RAP's ``simswap`` mode cannot run on a CPU (their code calls
``.cuda()``, compiles CUDA-only ops at import, or sets up NCCL), so ``make test-upstream`` cannot rehearse them.
This script does what the CPU rehearsals do, on CUDA: for each upstream it copies its source tree from
``$NULLSWAP_UPSTREAM_SOURCES/<name>/``, builds the upstream's own networks with random weights where its code
loads them (``swappers/rehearsal/build_<name>.py``; DF-RAP: ``baselines/rehearsal/build_dfrap.py``), marks
them as stand-ins, runs the real adapter through the real runner and driver on real faces of the offline
sample, and prints per upstream ``ok`` / ``FAILED`` with the error.  A report (``report.md``, ``report.json``)
headed ``REHEARSAL — random weights, not results`` goes to ``--out`` (a temporary folder by default; never
under the repository's ``results/``).

Which interpreter runs each upstream: its pinned environment when ``python -m benchmarks.setup NAME`` has built
it (``$NULLSWAP_HOME/upstream/NAME/env``), else this project's own interpreter (torch 2.x) — the report says
which; a failure under the project's interpreter is a finding about torch 2.x, not about the pinned stack.

Two files cannot be random networks and are taken from real sources:

* SimSwap's detector must be a real SCRFD ONNX graph with keypoints (insightface 0.2.1 routes the file by its
  outputs, and it must find the faces): pass it with ``--scrfd PATH`` (``scrfd_10g_bnkps.onnx`` of insightface's
  ``antelope`` pack).  Without it SimSwap is reported ``skipped`` with that reason; no registry the project can
  reach ships one.
* DiffSwap's dlib 68-point landmark model is the project's own offline asset
  (``python -m nullswap.weights prepare dlib_shape_predictor_68``).

Budget: one GPU, about 10 minutes for all five (``--timeout`` per upstream, default 240 s; DiffSwap swaps one
pair, its chain reloads everything per pair).  Without a CUDA device the script refuses before building anything.

    python -m benchmarks.tools.rehearse_gpu [--only NAME ...] [--device cuda:0] [--scrfd PATH] [--out DIR]
    python -m benchmarks.tools.rehearse_gpu --check      # what would run, and what is missing; runs nothing
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nullswap import standin
from nullswap.atomic import write_text
from nullswap.provenance import REPO_ROOT
from nullswap.upstream import rehearsal
from nullswap.upstream.layout import UpstreamLayout

SWAPPER_BUILDERS = Path(__file__).resolve().parents[2] / "swappers" / "rehearsal"
BASELINE_BUILDERS = Path(__file__).resolve().parents[2] / "baselines" / "rehearsal"
#: faces of the offline sample's test split that the upstreams' detectors find (sources, targets)
FACES = ("face_recognition/obama2/0", "face_api/sample1/0", "insightface/Tom_Hanks_54745/0", "face_api/sample1/1")


@dataclass(frozen=True)
class Target:
    """One upstream to rehearse on the GPU."""

    name: str  # as the script calls it (``dfrap-simswap``)
    kind: str  # "swapper" | "protector"
    registry: str  # the adapter's registry name
    builder: Path
    mode: str | None = None
    pairs: int = 2  # pairs (or images) to run
    options: dict[str, Any] = field(default_factory=dict)  # adapter options

    @property
    def source(self) -> str:
        return self.registry


TARGETS: dict[str, Target] = {
    "simswap": Target("simswap", "swapper", "simswap", SWAPPER_BUILDERS / "build_simswap.py"),
    "uniface": Target("uniface", "swapper", "uniface", SWAPPER_BUILDERS / "build_uniface.py"),
    "e4s": Target("e4s", "swapper", "e4s", SWAPPER_BUILDERS / "build_e4s.py"),
    "diffswap": Target("diffswap", "swapper", "diffswap", SWAPPER_BUILDERS / "build_diffswap.py", pairs=1,
                       options={"pair_timeout": 200}),
    "dfrap-simswap": Target("dfrap-simswap", "protector", "dfrap", BASELINE_BUILDERS / "build_dfrap.py",
                            mode="simswap", options={"mode": "simswap"}),
}


@dataclass
class Outcome:
    """What one upstream's rehearsal did."""

    name: str
    status: str  # ok | FAILED | skipped
    error: str = ""
    seconds: float = 0.0
    interpreter: str = ""
    items: list[str] = field(default_factory=list)  # per pair / image status
    messages: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        items = f" ({sum(s == 'ok' for s in self.items)}/{len(self.items)} ok)" if self.items else ""
        error = f" — {self.error}" if self.error else ""
        return f"{self.name:14s} {self.status}{items} in {self.seconds:.0f} s{error}"


def cuda_refusal() -> str | None:
    """Why this machine cannot run the rehearsal (``None`` when torch sees a CUDA device)."""
    if torch.cuda.is_available():
        return None
    import os

    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    shown = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    return (f"make rehearse-gpu needs a CUDA GPU and torch {torch.__version__} sees none{shown}: nothing was built "
            "or run. SimSwap, UniFace, E4S, DiffSwap and DF-RAP's simswap mode hard-code CUDA; on a CPU machine "
            "`make test-upstream` rehearses the upstreams that can run there.")


def interpreter_for(target: Target) -> Path:
    """The upstream's pinned environment when the setup built it, else this project's interpreter."""
    pinned = UpstreamLayout.resolve(target.registry).python
    return pinned if pinned.is_file() else rehearsal.project_python()


def builder_inputs(target: Target, scrfd: Path | None, fetch: bool = True) -> tuple[dict[str, Any], str | None]:
    """The builder's extra inputs (real files that cannot be random), or why the target must be skipped
    (``fetch=False``: only look, never prepare an asset)."""
    if target.registry == "simswap":
        if scrfd is None or not scrfd.is_file():
            return {}, ("needs a real SCRFD face detector ONNX (scrfd_10g_bnkps.onnx of insightface's antelope "
                        "pack): pass --scrfd PATH")
        return {"scrfd_source": str(scrfd)}, None
    if target.registry == "diffswap":
        from nullswap import weights

        try:
            found = weights.prepare("dlib_shape_predictor_68") if fetch else weights.find("dlib_shape_predictor_68")
        except Exception as exc:
            return {}, f"needs dlib's 68-point model (offline asset dlib_shape_predictor_68): {exc}"
        if found is None:
            return {}, "needs dlib's 68-point model: python -m nullswap.weights prepare dlib_shape_predictor_68"
        return {"shape_predictor_source": str(found)}, None
    return {}, None


def faces(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` (source, target) pairs of real canonical crops in [0, 1]."""
    from nullswap.data.sample import load_sample

    test = load_sample("test")
    crops = [torch.from_numpy(test.images[test.keys.index(k)]).permute(2, 0, 1).float() / 255.0 for k in FACES]
    sources = torch.stack([crops[(2 * i) % len(crops)] for i in range(n)])
    targets = torch.stack([crops[(2 * i + 1) % len(crops)] for i in range(n)])
    return sources, targets


def adapter_factory(target: Target) -> Callable[..., Any]:
    if target.kind == "swapper":
        import swappers

        return lambda **kw: swappers.load(target.registry, **kw)
    import baselines

    return lambda **kw: baselines.load(target.registry, **kw)


def rehearse(target: Target, work: Path, device: str, scrfd: Path | None, timeout: float) -> Outcome:
    """Build ``target``'s stand-ins in ``work`` and run its adapter on ``device``; never raises."""
    start = time.monotonic()
    python = interpreter_for(target)
    outcome = Outcome(target.name, "FAILED", interpreter=(
        rehearsal.PROJECT_INTERPRETER if rehearsal.is_project_python(python) else f"pinned environment {python}"))
    tree = rehearsal.source_tree(target.source)
    inputs, skip = builder_inputs(target, scrfd)
    if tree is None or skip:
        outcome.status, outcome.error = "skipped", skip or (rehearsal.missing_reason(target.source) or "")
        return outcome
    try:
        factory = adapter_factory(target)
        unchecked = factory(root=work / "root", check=False, **target.options)
        checkout = rehearsal.prepare_standin(  # builders of CUDA-only code see the GPU (builder_gpus=None)
            unchecked.spec, tree, work / "checkout", python, target.builder, mode=target.mode,
            options={**unchecked.options, **inputs}, timeout=timeout, builder_gpus=None,
        )
        adapter = factory(checkout=checkout, python=python, accept_unpinned=True, device=device,
                          root=work / "root", timeout=timeout, **target.options)
        sources, targets = faces(target.pairs)
        if target.kind == "swapper":
            result = adapter.swap(sources, targets)
            outcome.items, outcome.messages = list(result.status), list(result.messages)
        else:
            adapter.protect(sources)
            outcome.items = list(getattr(adapter, "last_status", ["ok"] * len(sources)))
            outcome.messages = list(getattr(adapter, "last_messages", [""] * len(sources)))
        outcome.info = dict(adapter.last_info)
        described = adapter.describe()
        outcome.info["standin_weights"] = len(described.get("standin_weights", []))
        if any(s == "ok" for s in outcome.items):
            outcome.status = "ok"
        else:
            outcome.error = "; ".join(sorted({m for m in outcome.messages if m})) or "no pair came back ok"
    except Exception as exc:
        # the exception's first line, and for a driver that stopped, its own error (the runner's second line)
        lines = [line for line in str(exc).strip().splitlines()[:2] if line and not line.startswith("---")]
        outcome.error = f"{type(exc).__name__}: " + " / ".join(lines)
        outcome.info["traceback"] = traceback.format_exc()[-4000:]
    outcome.seconds = time.monotonic() - start
    return outcome


def gpu_facts(device: str) -> dict[str, Any]:
    if not torch.cuda.is_available():
        return {"device": device, "cuda": False}
    index = int(device.split(":", 1)[1]) if ":" in device else 0
    major, minor = torch.cuda.get_device_capability(index)
    return {"device": device, "name": torch.cuda.get_device_name(index), "arch": f"sm_{major}{minor}",
            "torch": torch.__version__, "cuda": torch.version.cuda}


def write_report(outcomes: Sequence[Outcome], out: Path, facts: dict[str, Any]) -> Path:
    """``out/report.md`` (headed as a rehearsal) and ``out/report.json``; returns the Markdown file."""
    if (REPO_ROOT / "results").resolve() in [out.resolve(), *out.resolve().parents]:
        raise ValueError(f"a rehearsal report is never written under the repository's results/: {out}")
    lines = [
        f"# {standin.REHEARSAL_HEADER}: upstreams that need CUDA",
        "",
        f"GPU: {facts.get('name', 'none')} ({facts.get('arch', '-')}), device {facts.get('device')}; "
        f"this project's torch {torch.__version__}.  Each upstream's own networks with random weights, its real "
        "code through the project's adapter, runner and driver, on real faces: plumbing only.",
        "",
        "| upstream | result | items ok | seconds | interpreter | error |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        ok = f"{sum(s == 'ok' for s in o.items)}/{len(o.items)}" if o.items else "-"
        error = o.error.replace("|", "\\|").replace("\n", " ")[:300]
        lines.append(f"| {o.name} | {o.status} | {ok} | {o.seconds:.0f} | {o.interpreter} | {error} |")
    path = out / "report.md"
    write_text(path, "\n".join(lines) + "\n")
    write_text(out / "report.json", json.dumps({"header": standin.REHEARSAL_HEADER, "gpu": facts,
                                               "outcomes": [o.__dict__ for o in outcomes]}, indent=1, default=str))
    return path


def plan_lines(names: Sequence[str], scrfd: Path | None) -> tuple[list[str], bool]:
    """What ``--check`` prints: per upstream, its source tree, builder, interpreter and inputs; and whether
    everything needed is there."""
    ready = True
    lines = []
    refusal = cuda_refusal()
    if refusal:
        lines.append(f"CUDA: NO — {refusal}")
        ready = False
    else:
        lines.append(f"CUDA: {gpu_facts('cuda:0')}")
    for name in names:
        target = TARGETS[name]
        missing = rehearsal.missing_reason(target.source)
        _, skip = builder_inputs(target, scrfd, fetch=False)
        problems = [p for p in (missing, skip, None if target.builder.is_file() else f"no builder {target.builder}")
                    if p]
        ready = ready and not problems
        state = "ready" if not problems else "MISSING: " + "; ".join(problems)
        lines.append(f"{name:14s} builder {target.builder.name}, interpreter {interpreter_for(target)} — {state}")
    return lines, ready


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools.rehearse_gpu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(TARGETS), help="rehearse only these (default: all)")
    parser.add_argument("--device", default="cuda:0", help="the CUDA device to run on (default cuda:0)")
    parser.add_argument("--scrfd", type=Path, default=None, help="a real SCRFD ONNX detector, for SimSwap")
    parser.add_argument("--out", type=Path, default=None, help="report and scratch folder (default: a new temp folder)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per upstream's build and per run")
    parser.add_argument("--check", action="store_true", help="print what would run and what is missing; run nothing")
    args = parser.parse_args(argv)
    if not args.device.startswith("cuda"):
        parser.error(f"--device must be a CUDA device (cuda or cuda:N), not {args.device!r}")
    names = list(args.only or TARGETS)
    if args.check:
        lines, ready = plan_lines(names, args.scrfd)
        print("\n".join(lines))
        return 0 if ready else 1
    if rehearsal.sources_root() is None:
        print(rehearsal.missing_reason(names[0]), file=sys.stderr)
        return 2
    refusal = cuda_refusal()
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="rehearse-gpu-"))
    out.mkdir(parents=True, exist_ok=True)
    print(standin.REHEARSAL_HEADER)
    outcomes = []
    for name in names:
        outcome = rehearse(TARGETS[name], out / name, args.device, args.scrfd, args.timeout)
        print(outcome.line(), flush=True)
        outcomes.append(outcome)
    report = write_report(outcomes, out, gpu_facts(args.device))
    print(f"report: {report}")
    return 0 if all(o.status != "FAILED" for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
