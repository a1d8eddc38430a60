"""Measure the in-process protectors on the offline sample faces: ``python -m benchmarks.tools.protector_sweep``.

For each protector setting — PGD at 1, 2, 4 and 8/255 (white box on the differentiable offline
recognizers), random noise at a matched PSNR, and CMUA's mechanism applied with a *synthetic* pattern
(a seeded uniform tensor of the published file's shape, units and budget; the real file is Baidu-only,
so its numbers say what the mechanism costs in distortion, not what CMUA achieves) — it reports, on the
uint8 images: PSNR, SSIM, max L∞, the identity cosine between clean and protected embeddings for every
offline recognizer (through the fixed canonical crop, no re-detection), the share of faces each
recognizer would call a different person (cosine below its threshold), and CPU and wall time per image.

Faces: the offline sample set's test split (``nullswap.data.sample.load_sample("test")``), original
photos only.  Results go to ``results/protector_sweep/sweep-<stamp>.{json,md}`` with their provenance.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import baselines
from baselines._frames import measure, summarise
from nullswap.provenance import REPO_ROOT, git_commit

DEFAULT_RECOGNIZERS = ("dlib", "sface", "mobilefacenet")
ATTACKED = ("dlib", "sface")


def load_faces(max_images: int | None) -> tuple[torch.Tensor, dict[str, object]]:
    from nullswap.data.sample import load_sample

    faces = load_sample("test")
    if max_images:
        faces = faces.subset(range(min(max_images, len(faces))))
    return faces.tensor(), {"set": faces.name, "n": len(faces), "keys": faces.keys, **faces.notes}


def synthetic_cmua_pattern(path: Path, seed: int) -> Path:
    """A seeded uniform 3×256×256 tensor in [-0.05, 0.05] ([-1, 1] units): the published file's format."""
    generator = torch.Generator().manual_seed(seed)
    torch.save((torch.rand(3, 256, 256, generator=generator) * 2 - 1) * 0.05, path)
    return path


def settings(args: argparse.Namespace, cmua_path: Path) -> list[tuple[str, str, dict[str, object]]]:
    rows: list[tuple[str, str, dict[str, object]]] = [("clean", "clean", {})]
    for eps in args.eps:
        rows.append(
            (
                f"pgd {eps:g}/255",
                "pgd",
                {
                    "eps": float(eps),
                    "recognizers": list(ATTACKED),
                    "steps": args.steps,
                    "seed": args.seed,
                    "progress": False,
                },
            )
        )
    rows.append(
        (f"noise {args.noise_psnr:g} dB", "noise", {"target_psnr": args.noise_psnr, "seed": args.seed})
    )
    rows.append(("cmua (synthetic pattern)", "cmua", {"perturbation_path": str(cmua_path)}))
    return rows


def cosine_table(
    models: dict[str, torch.nn.Module], clean: torch.Tensor, protected: torch.Tensor
) -> dict[str, dict]:
    out = {}
    with torch.no_grad():
        for name, model in models.items():
            cos = F.cosine_similarity(
                torch.from_numpy(model.embed_numpy(clean)),
                torch.from_numpy(model.embed_numpy(protected)),
                dim=-1,
            )
            threshold = getattr(model, "threshold", None)
            out[name] = {
                "cosine_mean": float(cos.mean()),
                "cosine_min": float(cos.min()),
                "threshold": threshold,
                "below_threshold": None if threshold is None else float((cos < threshold).float().mean()),
            }
    return out


def markdown(rows: list[dict[str, object]], recognizers: list[str]) -> str:
    head = (
        ["setting", "PSNR", "SSIM", "L∞/255"]
        + [f"cos {r}" for r in recognizers]
        + [f"diff-person {r}" for r in recognizers]
        + ["CPU s/img", "wall s/img"]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        v = row["visual"]
        cells = [
            row["label"],
            f"{v['psnr_mean']:.2f}" if np.isfinite(v["psnr_mean"]) else "inf",
            f"{v['ssim_mean']:.4f}",
            f"{v['linf_255_max']:.0f}",
        ]
        cells += [f"{row['identity'][r]['cosine_mean']:.3f}" for r in recognizers]
        cells += [
            f"{row['identity'][r]['below_threshold']:.2f}"
            if row["identity"][r]["below_threshold"] is not None
            else "–"
            for r in recognizers
        ]
        cells += [f"{row['cpu_s_per_image']:.2f}", f"{row['wall_s_per_image']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tools.protector_sweep",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--eps", type=float, nargs="+", default=[1, 2, 4, 8], help="PGD budgets in /255")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--noise-psnr", type=float, default=41.31)
    parser.add_argument("--recognizers", nargs="+", default=list(DEFAULT_RECOGNIZERS))
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (CPU time is summed over them)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "protector_sweep")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from nullswap import recognizers as registry

    clean, data = load_faces(args.max_images)
    models = {name: registry.load(name) for name in args.recognizers}
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    cmua_path = synthetic_cmua_pattern(args.out / f"synthetic-cmua-{stamp}.pt", args.seed)
    rows = []
    for label, name, options in settings(args, cmua_path):
        protector = baselines.load(name, **options)
        wall, cpu = time.perf_counter(), time.process_time()
        protected = protector.protect(clean)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        failed = [m for state, m in zip(protector.last_status, protector.last_messages) if state != "ok"]
        if failed:  # a failed image comes back clean: its numbers would pass for a protection
            raise SystemExit(f"{label}: {len(failed)} of {len(clean)} images failed protection: {failed[0]}")
        row = {
            "label": label,
            "protector": protector.describe(),
            "visual": summarise(measure(clean, protected)),
            "identity": cosine_table(models, clean, protected),
            "cpu_s_per_image": cpu / len(clean),
            "wall_s_per_image": wall / len(clean),
        }
        rows.append(row)
        print(
            f"{label:26s} PSNR {row['visual']['psnr_mean']:6.2f}  SSIM {row['visual']['ssim_mean']:.4f}  "
            + "  ".join(f"{r} {row['identity'][r]['cosine_mean']:.3f}" for r in args.recognizers)
            + f"  {row['cpu_s_per_image']:.2f} CPU-s/img",
            flush=True,
        )
    cmua_path.unlink(missing_ok=True)
    table = markdown(rows, args.recognizers)
    record = {
        "what": "protector sweep on the offline sample test faces (fixed canonical crop, no re-detection)",
        "command": "python -m benchmarks.tools.protector_sweep " + " ".join(argv or []),
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "threads": args.threads,
        "data": data,
        "recognizers": {name: model.describe() for name, model in models.items()},
        "cmua_note": "synthetic seeded uniform pattern in the published file's format, not CMUA's watermark",
        "rows": rows,
    }
    (args.out / f"sweep-{stamp}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    (args.out / f"sweep-{stamp}.md").write_text(
        f"# Protector sweep {stamp}\n\n{record['what']}; "
        f"{data['n']} faces; {args.threads} thread(s).\n\n{table}\n"
    )
    print(table)
    print(f"written: {args.out / f'sweep-{stamp}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
