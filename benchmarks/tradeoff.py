"""Fidelity against cloaking: where NullSwap stands among per-image attacks at equal PSNR.

``python -m benchmarks.tradeoff`` protects the test faces with

* NullSwap at several fidelity targets (the generator's L2 budget moved at inference: one trained model,
  several points — :class:`nullswap.protect.NullSwapCloak`),
* NullSwap + refinement (``nullswap-refine``, :mod:`nullswap.refine`): the one pass at the paper's
  41.3 dB, then K steps per face against dlib + SFace with EOT, PSNR ≥ 41.3 dB and SSIM ≥ 0.986 after
  rounding, for each K of ``--refine-steps``;
* L2 PGD from the clean face with the same optimiser, EOT and budget (``nullswap-refine start=zero``):
  at the refinement's largest K (the same time per face) and at ``--pgd-l2-long`` steps (what a per-face
  white-box attack reaches at this fidelity given far more time: the bound refinement is measured against),
* white-box L∞ PGD at ε = 1, 2, 4, 8 /255 against the recognizers NullSwap trains on,
* Gaussian noise scaled to each NullSwap point's measured PSNR (the control),

and measures PSNR, SSIM and Acc@1 (leave-one-out identification, as in Table 2) under the recognizers
NullSwap trained on, an unseen one, and dlib's complete pipeline re-detecting the face
(``dlib-cpp@redetect``), plus the seconds each protector spends per face.  Every point is a cell in the
results store (resume, provenance); the table and the figure are built from the cells only.

Output: ``results/tradeoff/`` — ``tradeoff.csv``, ``tradeoff.md``, ``tradeoff.png``, ``cells/``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import pandas as pd

from benchmarks.execute import write_gitignore
from benchmarks.plan import plan
from benchmarks.protector_options import resolved_protector_options
from benchmarks.specs import ProtectorSpec
from benchmarks.store import ResultStore, atomic_write_text
from benchmarks.workspace import Workspace, resolve_device
from nullswap.provenance import REPO_ROOT as REPO

log = logging.getLogger("benchmarks.tradeoff")
DEFAULT_RECOGNIZERS = ["dlib", "sface", "mobilefacenet", "dlib-cpp@redetect"]
TRAINED = {"dlib", "sface"}
FAMILY_ORDER = ("clean", "noise", "nullswap", "refine", "pgd-l2", "pgd")
STEP_FAMILIES = ("refine", "pgd-l2")
#: what per-face refinement is asked to reach at PSNR ≥ 41.3 dB and SSIM ≥ 0.986: relative top-1 drop per
#: recognizer, and seconds per face on two CPU cores
TARGET_DROPS = {"dlib": 0.50, "sface": 0.50, "dlib-cpp@redetect": 0.36, "mobilefacenet": 0.10}
TARGET_FIDELITY = {"psnr": 41.3, "ssim": 0.986}
TARGET_SECONDS = 2.0


def _label(recognizer: str) -> str:
    base = recognizer.split("@")[0]
    role = "trained-on" if base in TRAINED else "unseen"
    return f"{recognizer} ({role}{', re-detected' if '@redetect' in recognizer else ''})"


def settings(checkpoint: str, targets: list[float], pgd_eps: list[float], pgd_steps: int, seed: int,
             refine_steps: list[int] = (), pgd_l2_steps: list[int] = ()) -> list[tuple[str, float, ProtectorSpec]]:
    """(family, parameter, spec) for NullSwap, refinement and PGD; noise is added once NullSwap's PSNRs are
    known."""
    out: list[tuple[str, float, ProtectorSpec]] = [("clean", 0.0, ProtectorSpec("clean", {}, seed))]
    for target in targets:
        options = resolved_protector_options("nullswap", {"checkpoint": checkpoint, "target_psnr": float(target)})
        out.append(("nullswap", target, ProtectorSpec(f"nullswap-{target:g}dB", options, seed, "nullswap")))
    for steps in refine_steps:
        options = resolved_protector_options("nullswap-refine", {"checkpoint": checkpoint, "steps": int(steps)})
        out.append(("refine", steps, ProtectorSpec(f"nullswap-refine-{steps}", options, seed, "nullswap-refine")))
    for steps in pgd_l2_steps:
        options = resolved_protector_options("nullswap-refine", {"start": "zero", "steps": int(steps)})
        options.pop("checkpoint", None)
        out.append(("pgd-l2", steps, ProtectorSpec(f"pgd-l2-{steps}", options, seed, "nullswap-refine")))
    for eps in pgd_eps:
        options = resolved_protector_options("pgd", {"eps": float(eps), "steps": int(pgd_steps), "progress": False})
        out.append(("pgd", eps, ProtectorSpec(f"pgd-{eps:g}", options, seed, "pgd")))
    return out


def run_cells(root: Path, dataset: dict, specs: list[ProtectorSpec], recognizers: list[str], device: str,
              ) -> list[dict]:
    """Every missing cell of these protectors (visual + identification), through the results store."""
    cfg = {"table": "tradeoff", "dataset": dataset, "visual": True, "perceptual": None,
           "recognizers": recognizers, "protocol": {"ks": [1, 5]}}
    store = ResultStore(root)
    write_gitignore(root)
    jobs = plan(cfg, specs)
    workspace = Workspace(root, dataset, device=device, batch_size=8)
    records = []
    for job in jobs:
        computed = not store.exists(job.key)
        if computed:
            log.info("cell %s", job.description)
        record, _ = store.ensure(job.key, job.config, lambda job=job: job.compute(workspace), run_config=cfg)
        records.append(record)
    return records


def summarise(records: list[dict], families: dict[str, tuple[str, float]]) -> pd.DataFrame:
    rows: dict[str, dict] = {}
    for record in records:
        name = record["key"]["protector"]
        family, parameter = families[name]
        row = rows.setdefault(name, {"setting": name, "family": family, "parameter": parameter})
        if record["kind"] == "visual":
            row["psnr"] = record["values"]["psnr"]
            row["ssim"] = record["values"]["ssim"]
            protection = record["provenance"].get("protection") or {}
            row["seconds_per_face"] = protection.get("seconds_per_image")
        else:
            evaluator = record["key"]["evaluator"]
            row[f"acc1/{evaluator}"] = record["values"].get("top1")
            row[f"cos/{evaluator}"] = record["values"].get("same_image_cosine")
            row[f"failures/{evaluator}"] = sum(int(v or 0) for v in record["failures"].values()
                                               if isinstance(v, (int, float)) or v is None)
    frame = pd.DataFrame(list(rows.values()))
    if "psnr" not in frame:
        frame["psnr"] = float("nan")
    frame["order"] = frame.family.map({f: i for i, f in enumerate(FAMILY_ORDER)}).fillna(len(FAMILY_ORDER))
    return frame.sort_values(["order", "parameter"]).drop(columns="order").reset_index(drop=True)


def add_drops(frame: pd.DataFrame, recognizers: list[str]) -> pd.DataFrame:
    clean = frame[frame.family == "clean"]
    for rec in recognizers:
        column = f"acc1/{rec}"
        if column in frame and len(clean):
            base = float(clean[column].iloc[0])
            frame[f"drop/{rec}"] = (base - frame[column]) / base if base > 0 else float("nan")
    return frame


def plot(frame: pd.DataFrame, recognizers: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(recognizers), figsize=(4.2 * len(recognizers), 3.8), sharey=True)
    styles = {"nullswap": ("tab:red", "o", "NullSwap (one model, budget moved)"),
              "refine": ("tab:purple", "*", "NullSwap + refine K steps (SSIM ≥ 0.986)"),
              "pgd-l2": ("tab:green", "D", "L2 PGD from zero, K steps (same budget, EOT)"),
              "pgd": ("tab:blue", "s", "PGD white-box (ε /255)"),
              "noise": ("tab:gray", "^", "Gaussian noise at NullSwap's PSNR")}
    for ax, rec in zip(axes, recognizers):
        column = f"acc1/{rec}"
        clean = frame[frame.family == "clean"]
        if len(clean) and column in frame:
            ax.axhline(float(clean[column].iloc[0]), color="k", ls="--", lw=1, label="clean")
        for family, (color, marker, label) in styles.items():
            # a budget family is a curve over PSNR; a step family sits at one PSNR and is ordered by its K
            part = frame[frame.family == family].sort_values("parameter" if family in STEP_FAMILIES else "psnr")
            if len(part) and column in part:
                ax.plot(part.psnr, part[column], color=color, marker=marker, label=label)
                for _, row in part.iterrows():
                    ax.annotate(f"{row.parameter:g}", (row.psnr, row[column]), fontsize=7,
                                textcoords="offset points", xytext=(3, 3), color=color)
        ax.set(title=_label(rec), xlabel="PSNR (dB, higher = less visible)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("Acc@1 (lower = better cloaking)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=len(labels), frameon=False)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def targets(frame: pd.DataFrame, recognizers: list[str], timing: dict | None = None) -> list[str]:
    """One line per refined / L2-PGD row: each target met or missed, with the measured number (s/face from
    the one-process timing run when there is one, else from the cells)."""
    lines = ["", "## Targets of per-face refinement", "",
             f"At PSNR ≥ {TARGET_FIDELITY['psnr']} dB and SSIM ≥ {TARGET_FIDELITY['ssim']} (both enforced per face "
             "after rounding, so every face meets them, not only the mean): relative top-1 drop "
             + ", ".join(f"≥ {v:.0%} under {k}" for k, v in TARGET_DROPS.items() if k in recognizers)
             + f"; ≤ {TARGET_SECONDS:g} s per face on two CPU cores (s/face: "
             + ("the timing run below" if timing else "the cells' protection time") + "; provisional unless "
             "measured alone).", "",
             "| setting | " + " | ".join(k for k in TARGET_DROPS if k in recognizers) + " | PSNR | SSIM | s/face |",
             "|---|" + "---|" * (sum(k in recognizers for k in TARGET_DROPS) + 3)]
    for _, row in frame[frame.family.isin(["refine", "pgd-l2"])].iterrows():
        cells = [row.setting]
        for rec, goal in TARGET_DROPS.items():
            if rec not in recognizers:
                continue
            drop = row.get(f"drop/{rec}")
            cells.append("–" if pd.isna(drop) else f"{drop:.0%} {'met' if drop >= goal else 'missed'}")
        cells.append(f"{row.psnr:.2f} {'met' if row.psnr >= TARGET_FIDELITY['psnr'] else 'missed'}")
        cells.append(f"{row.ssim:.4f} {'met' if row.ssim >= TARGET_FIDELITY['ssim'] else 'missed'}")
        seconds = (timing or {}).get("seconds_per_face", {}).get(row.setting, row.get("seconds_per_face"))
        cells.append("–" if pd.isna(seconds) else f"{seconds:.2f} {'met' if seconds <= TARGET_SECONDS else 'missed'}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(frame: pd.DataFrame, recognizers: list[str], title: str, command: str, probes: str = "",
             timing: dict | None = None) -> str:
    head = ["setting", "PSNR", "SSIM", *[_label(r) for r in recognizers], "s/face"]
    lines = [f"# {title}", "", f"Made by `{command}`. Acc@1 with the relative drop against clean in",
             "brackets; failed re-detections count as misses and are listed in `tradeoff.csv`. s/face is the wall",
             "time of protecting the whole split, which varies with whatever else runs on the machine (see",
             "`provenance` in each cell); the PGD-50 vs NullSwap line below times both in one run."
             + (f" {probes}" if probes else ""), "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, row in frame.iterrows():
        cells = [row.setting, f"{row.psnr:.2f}" if row.family != "clean" else "∞",
                 f"{row.ssim:.4f}" if row.family != "clean" else "1"]
        for rec in recognizers:
            value = row.get(f"acc1/{rec}")
            drop = row.get(f"drop/{rec}")
            cells.append("–" if pd.isna(value) else f"{value:.3f}" + ("" if row.family == "clean" else f" ({-drop:+.0%})"))
        seconds = row.get("seconds_per_face")
        cells.append("–" if pd.isna(seconds) else f"{seconds:.3f}")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if frame.family.isin(["refine", "pgd-l2"]).any():
        lines += targets(frame, recognizers, timing)
    return "\n".join(lines) + "\n"


def probe_note(dataset: dict) -> str:
    """Who the Acc@1 is measured on: the faces of identities with more than one photo (the probes)."""
    from collections import Counter

    from nullswap.data.load import load_dataset

    identities = load_dataset(dataset, dataset.get("split", "test")).identities
    counts = Counter(identities)
    multi = [name for name, n in counts.items() if n > 1]
    probes = sum(counts[name] for name in multi)
    return (f"Acc@1 is over the {probes} faces of the {len(multi)} identities with more than one photo "
            f"(each probe against the others' clean photos); the {len(counts) - len(multi)} single-photo "
            "identities are gallery distractors.")


def time_against_pgd(dataset: dict, checkpoint: str, target: float, pgd_steps: int, faces: int, device: str
                     ) -> dict:
    """Seconds per face of NullSwap and of PGD-``pgd_steps`` (ε 4/255) on the same faces, in one process,
    one after the other (so both see the same machine)."""
    import baselines
    from nullswap.data.load import load_dataset

    images = load_dataset(dataset, dataset.get("split", "test")).tensor(slice(0, faces)).to(device)
    timings = {}
    for name, protector in (
        ("nullswap", baselines.load("nullswap", checkpoint=checkpoint, target_psnr=target, device=device)),
        (f"pgd-{pgd_steps}", baselines.load("pgd", eps=4.0, steps=pgd_steps, progress=False, device=device)),
    ):
        protector.protect(images[:1])                      # warm-up: model loading is not protection time
        started = time.perf_counter()
        protector.protect(images)
        timings[name] = (time.perf_counter() - started) / len(images)
    return {"faces": len(images), "device": device, "seconds_per_face": timings,
            "pgd_over_nullswap": timings[f"pgd-{pgd_steps}"] / timings["nullswap"]}


def time_refinement(dataset: dict, checkpoint: str, refine_steps: list[int], faces: int, device: str) -> dict:
    """Seconds per face of NullSwap's one pass, of NullSwap + refinement for each K and of L2 PGD from zero
    at the largest K, on the same faces in one process, one after the other (so all see the same machine),
    with the torch threads and the load average it ran under."""
    import os

    import torch

    import baselines
    from nullswap.data.load import load_dataset

    images = load_dataset(dataset, dataset.get("split", "test")).tensor(slice(0, faces)).to(device)
    contenders = [("nullswap", lambda: baselines.load("nullswap", checkpoint=checkpoint, device=device))]
    for steps in refine_steps:
        contenders.append((f"nullswap-refine-{steps}", lambda steps=steps: baselines.load(
            "nullswap-refine", checkpoint=checkpoint, steps=steps, device=device)))
    contenders.append((f"pgd-l2-{max(refine_steps)}", lambda: baselines.load(
        "nullswap-refine", start="zero", steps=max(refine_steps), device=device)))
    load_before = [round(v, 2) for v in os.getloadavg()]
    timings = {}
    for name, build in contenders:
        protector = build()
        protector.protect(images[:1])                      # warm-up: model loading is not protection time
        started = time.perf_counter()
        protector.protect(images)
        timings[name] = round((time.perf_counter() - started) / len(images), 4)
    return {"faces": len(images), "device": device, "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(), "load_average_before": load_before,
            "load_average_after": [round(v, 2) for v in os.getloadavg()], "date": time.strftime("%Y-%m-%d %H:%M"),
            "seconds_per_face": timings}


def main(argv: list[str] | None = None) -> int:
    from nullswap.protect import default_checkpoint

    parser = argparse.ArgumentParser(prog="python -m benchmarks.tradeoff", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="sample", help="data set name (sample | offline | ...)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--views", action="store_true", help="add the data set's transformed gallery views")
    parser.add_argument("--checkpoint", default=None, help="NullSwap generator (default: the shipped one)")
    parser.add_argument("--targets", nargs="+", type=float, default=[35.0, 38.0, 41.3])
    parser.add_argument("--pgd-eps", nargs="+", type=float, default=[1.0, 2.0, 4.0, 8.0])
    parser.add_argument("--pgd-steps", type=int, default=10)
    parser.add_argument("--refine-steps", nargs="*", type=int, default=[5, 10, 20],
                        help="NullSwap + refinement with these K (none: skip)")
    parser.add_argument("--pgd-l2-long", type=int, default=100,
                        help="also L2 PGD from zero with this many steps, besides the refinement's largest K (0: skip)")
    parser.add_argument("--recognizers", nargs="+", default=DEFAULT_RECOGNIZERS)
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "tradeoff")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-pgd-steps", type=int, default=50,
                        help="also time PGD with this many steps against NullSwap on the same faces (0: skip)")
    parser.add_argument("--time-faces", type=int, default=16)
    parser.add_argument("--time-refine", action="store_true",
                        help="time NullSwap's one pass, refinement at each K and L2 PGD on --time-faces faces in one "
                        "process (refine_timing.json); without it the last measurement is kept")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.time()
    checkpoint = str(args.checkpoint or default_checkpoint())
    dataset = {"name": args.dataset, "split": args.split}
    if args.views:
        dataset["views"] = True
    if args.max_images:
        dataset["max_images"] = args.max_images
    device = resolve_device(args.device)
    pgd_l2 = sorted({max(args.refine_steps)} | ({args.pgd_l2_long} if args.pgd_l2_long else set())) \
        if args.refine_steps else []
    chosen = settings(checkpoint, args.targets, args.pgd_eps, args.pgd_steps, args.seed, args.refine_steps, pgd_l2)
    families = {spec.name: (family, parameter) for family, parameter, spec in chosen}
    records = run_cells(args.out, dataset, [spec for *_, spec in chosen], args.recognizers, device)
    # The noise control: the same PSNR as each NullSwap point.
    measured = summarise(records, families)
    noise_specs = []
    matched: list[float] = []
    for _, row in measured[measured.family.isin(["nullswap", "refine"])].iterrows():
        if any(abs(float(row.psnr) - other) < 0.1 for other in matched):
            continue   # one noise control per fidelity (the refined points share the generator's PSNR)
        matched.append(float(row.psnr))
        options = resolved_protector_options("noise", {"target_psnr": round(float(row.psnr), 2)})
        spec = ProtectorSpec(f"noise-{row.psnr:.2f}dB", options, args.seed, "noise")
        families[spec.name] = ("noise", round(float(row.psnr), 2))
        noise_specs.append(spec)
    records += run_cells(args.out, dataset, noise_specs, args.recognizers, device)
    frame = add_drops(summarise(records, families), args.recognizers)
    faces = records[0]["provenance"].get("dataset", {}) if records else {}
    title = (f"Fidelity vs identification, {args.dataset} {args.split} split "
             f"({faces.get('n_images', '?')} faces, {faces.get('n_identities', '?')} identities; CPU; "
             f"PGD-{args.pgd_steps} on dlib+SFace; not the paper's setting)")
    command = "python -m benchmarks.tradeoff " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    args.out.mkdir(parents=True, exist_ok=True)
    refine_file = args.out / "refine_timing.json"
    if args.time_refine and args.refine_steps:
        atomic_write_text(refine_file, json.dumps(time_refinement(
            {k: v for k, v in dataset.items() if k != "max_images"}, checkpoint, args.refine_steps, args.time_faces,
            device), indent=2))
    refine_timing = json.loads(refine_file.read_text()) if refine_file.is_file() else None
    frame.to_csv(args.out / "tradeoff.csv", index=False)
    atomic_write_text(args.out / "tradeoff.md", markdown(frame, args.recognizers, title, command.strip(),
                                                         probe_note(dataset), refine_timing))
    plot(frame, args.recognizers, args.out / "tradeoff.png", title)
    atomic_write_text(args.out / "provenance.json", json.dumps(
        {"command": command.strip(), "checkpoint": checkpoint, "dataset": dataset, "wall_time_s": round(time.time() - started, 1),
         "cells": sorted({r["key"]["protector"] for r in records})}, indent=2))
    timing_file = args.out / "timing.json"
    if args.time_pgd_steps:
        timing = time_against_pgd({k: v for k, v in dataset.items() if k != "max_images"}, checkpoint,
                                  max(args.targets), args.time_pgd_steps, args.time_faces, device)
        atomic_write_text(timing_file, json.dumps(timing, indent=2))
    elif timing_file.is_file():      # keep the last measurement (its own file says when and where)
        timing = json.loads(timing_file.read_text())
        args.time_pgd_steps = int(next(k for k in timing["seconds_per_face"] if k.startswith("pgd-"))[4:])
    if args.time_pgd_steps:
        with open(args.out / "tradeoff.md", "a") as handle:
            handle.write(f"\nProtect time on the same {timing['faces']} faces ({timing['device']}, one run): NullSwap "
                         f"{timing['seconds_per_face']['nullswap']:.3f} s/face, PGD-{args.time_pgd_steps} (4/255) "
                         f"{timing['seconds_per_face'][f'pgd-{args.time_pgd_steps}']:.3f} s/face — PGD takes "
                         f"{timing['pgd_over_nullswap']:.0f}× longer.\n")
    if refine_timing:
        with open(args.out / "tradeoff.md", "a") as handle:
            handle.write(f"\nProtect time of refinement on the same {refine_timing['faces']} faces "
                         f"({refine_timing['device']}, {refine_timing['torch_threads']} torch thread(s) of "
                         f"{refine_timing['cpus']} CPUs, one run, {refine_timing['date']}, load average "
                         f"{refine_timing['load_average_before'][0]} → {refine_timing['load_average_after'][0]}; "
                         "`refine_timing.json`, made by adding `--time-refine` to the command): "
                         + ", ".join(f"{k} {v:.3f} s/face" for k, v in refine_timing["seconds_per_face"].items())
                         + ".\n")
    print((args.out / "tradeoff.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
