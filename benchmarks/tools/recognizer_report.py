"""Every recognizer that runs on this machine, measured on the offline sample faces.

``python -m benchmarks.tools.recognizer_report`` writes ``results/recognizers/report.{md,json}``: embedding
size, CPU time per face, genuine vs impostor cosine (genuine = the same person in *different*
photographs: Obama's three photos and the same-person groups of the sample), whether gradients reach a
256 canonical crop, and — for converted models — the largest difference to their reference runtime on
the same input frames.  Recognizers whose weights are absent are listed with the reason.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from nullswap import recognizers
from nullswap.data.sample import load_sample
from nullswap.provenance import REPO_ROOT as REPO
from nullswap.provenance import git_commit
from nullswap.weights import MissingWeightsError

OFFLINE = ["dlib", "dlib-cpp", "sface", "sface-onnx", "mobilefacenet"]
PAPER = ["arcface", "facenet", "facenet512", "vggface", "sface-deepface", "facenet-vggface2", "arcface-insightface"]
#: converted model → its reference runtime
REFERENCES = {"dlib": "dlib-cpp", "sface": "sface-onnx"}


def pair_cosines(embeddings: np.ndarray, identities: list[str], photos: list[str]) -> tuple[list[float], list[float]]:
    genuine, impostor = [], []
    for i, j in itertools.combinations(range(len(identities)), 2):
        cos = float(embeddings[i] @ embeddings[j])
        if identities[i] == identities[j]:
            if photos[i] != photos[j]:
                genuine.append(cos)
        else:
            impostor.append(cos)
    return genuine, impostor


def timing(model: recognizers.Recognizer, faces: torch.Tensor, repeats: int = 2) -> tuple[float, float | None]:
    batch = faces[:8]
    with torch.no_grad():
        model(batch)
        started = time.perf_counter()
        for _ in range(repeats):
            model(batch)
        forward = (time.perf_counter() - started) / repeats / len(batch) * 1000
    if not model.differentiable:
        return forward, None
    started = time.perf_counter()
    for _ in range(repeats):
        x = batch.clone().requires_grad_(True)
        model(x).sum().backward()
    return forward, (time.perf_counter() - started) / repeats / len(batch) * 1000


def gradient_reaches_input(model: recognizers.Recognizer, face: torch.Tensor) -> bool | None:
    if not model.differentiable:
        return None
    x = face[None].clone().requires_grad_(True)
    model(x)[0, 0].backward()
    return bool(x.grad is not None and x.grad.abs().sum() > 0)


def measure(names: list[str], threads: int) -> dict[str, dict]:
    torch.set_num_threads(threads)
    faces = load_sample("all")
    images = faces.tensor()
    photos = [key.rsplit("/", 1)[0] for key in faces.keys]
    rows: dict[str, dict] = {}
    embeddings: dict[str, np.ndarray] = {}
    for name in names:
        try:
            model = recognizers.load(name, device="cpu")
        except (MissingWeightsError, ImportError) as exc:
            rows[name] = {"status": "weights absent" if isinstance(exc, MissingWeightsError) else "library absent",
                          "reason": str(exc).splitlines()[0]}
            continue
        emb = model.embed_numpy(images, batch_size=8)
        embeddings[name] = emb
        genuine, impostor = pair_cosines(emb, faces.identities, photos)
        forward_ms, train_ms = timing(model, images)
        threshold = model.threshold
        rows[name] = {
            "status": "ran",
            "embedding_dim": int(emb.shape[1]),
            "input_size": model.input_size,
            "differentiable": model.differentiable,
            "ms_per_face_forward": round(forward_ms, 1),
            "ms_per_face_forward_backward": None if train_ms is None else round(train_ms, 1),
            "genuine_pairs": len(genuine),
            "genuine_mean": float(np.mean(genuine)),
            "genuine_min": float(np.min(genuine)),
            "impostor_pairs": len(impostor),
            "impostor_mean": float(np.mean(impostor)),
            "impostor_max": float(np.max(impostor)),
            "threshold": threshold,
            "genuine_accepted": None if threshold is None else float(np.mean(np.array(genuine) >= threshold)),
            "impostor_accepted": None if threshold is None else float(np.mean(np.array(impostor) >= threshold)),
            "gradient_reaches_256_crop": gradient_reaches_input(model, images[0]),
            "describe": model.describe(),
        }
    for converted, reference in REFERENCES.items():
        if converted in embeddings and reference in embeddings:
            model = recognizers.load(converted, device="cpu")
            frames = model.to_input_frame(images)
            # the reference runs on 8-bit frames: feed both the same rounded frames
            frames = (frames.clamp(0, 1) * 255).round() / 255
            with torch.no_grad():
                a = torch.nn.functional.normalize(model.embed(frames).float(), dim=-1)
                b = torch.nn.functional.normalize(recognizers.load(reference).embed(frames).float(), dim=-1)
            rows[converted]["max_abs_diff_to_reference"] = float((a - b).abs().max())
            rows[converted]["reference"] = reference
    return rows


def markdown(rows: dict[str, dict], faces: int, threads: int) -> str:
    lines = [
        "# Recognizers on the offline sample faces",
        "",
        f"{faces} real faces (offline sample set, all splits, no views); genuine pairs are the same person in "
        "different photographs; CPU times per face at batch 8 with "
        f"{threads} thread(s), 256 canonical crops in. Produced by `python -m benchmarks.tools.recognizer_report`.",
        "",
        "| recognizer | dim | differentiable | ms/face fwd | ms/face fwd+bwd | genuine cos mean (min) | "
        "impostor cos mean (max) | threshold | genuine ≥ thr | impostor ≥ thr | grad reaches 256 crop | "
        "max diff to reference |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        if row["status"] != "ran":
            lines.append(f"| {name} | – | – | – | – | – | – | – | – | – | – | {row['status']}: {row['reason']} |")
            continue
        diff = row.get("max_abs_diff_to_reference")
        genuine_ok = "–" if row["genuine_accepted"] is None else f"{row['genuine_accepted']:.2f}"
        impostor_ok = "–" if row["impostor_accepted"] is None else f"{row['impostor_accepted']:.3f}"
        reference = "–" if diff is None else f"{diff:.1e} vs {row['reference']}"
        threshold = "–" if row["threshold"] is None else f"{row['threshold']:.3f}"
        grad = {True: "yes", False: "NO", None: "–"}[row["gradient_reaches_256_crop"]]
        lines.append(
            f"| {name} | {row['embedding_dim']} | {'yes' if row['differentiable'] else 'no'} | "
            f"{row['ms_per_face_forward']} | {row['ms_per_face_forward_backward'] or '–'} | "
            f"{row['genuine_mean']:.3f} ({row['genuine_min']:.3f}) | {row['impostor_mean']:.3f} "
            f"({row['impostor_max']:.3f}) | {threshold} | {genuine_ok} | {impostor_ok} | {grad} | {reference} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools.recognizer_report", description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "recognizers")
    parser.add_argument("--names", nargs="*", default=OFFLINE + PAPER)
    args = parser.parse_args(argv)
    rows = measure(args.names, args.threads)
    faces = len(load_sample("all"))
    args.out.mkdir(parents=True, exist_ok=True)
    commit = git_commit() or ""
    provenance = {"git_commit": commit, "torch": torch.__version__, "python": platform.python_version(),
                  "machine": platform.machine(), "processor": platform.processor(), "threads": args.threads,
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (args.out / "report.json").write_text(json.dumps({"provenance": provenance, "recognizers": rows}, indent=2,
                                                     default=str))
    text = markdown(rows, faces, args.threads)
    (args.out / "report.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
