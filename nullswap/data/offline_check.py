"""Checking the offline set's identity labels with a real recognizer.

The labels of :mod:`nullswap.data.offline_sources` come from folder and file names, from "a video
shows one person" and from reading group photos by eye.  This module measures them with dlib's
ResNet (the ``dlib`` recognizer: unit-length embeddings, same person above cosine
:attr:`~nullswap.recognizers.dlib_resnet.DlibResNet.threshold`, the cosine equivalent of dlib's
"distance below 0.6" rule):

* the spread of each identity with several faces (its least similar pair of faces);
* each identity's nearest *other* identity (its most similar cross-identity pair of faces), which
  flags two labels that are one person;
* leave-one-out nearest-neighbour identification over the independent photographs of multi-photo
  identities (a face's neighbours from the same file, e.g. its own video, do not count).

``python -m nullswap.data.offline --check-identities`` prints the report and stores it beside the
manifest as ``identity_check.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from nullswap.atomic import write_text

MAX_FRAMES_PER_VIDEO = 12
"""Video identities are checked on this many evenly spread frames (consecutive frames add nothing)."""


def _chosen(faces: list[dict]) -> list[dict]:
    originals = [f for f in faces if f["view"] == "original"]
    frames: dict[str, list[dict]] = {}
    chosen = []
    for face in originals:
        if face["kind"] == "video_frame":
            frames.setdefault(face["member"], []).append(face)
        else:
            chosen.append(face)
    for group in frames.values():
        picks = np.linspace(0, len(group) - 1, min(MAX_FRAMES_PER_VIDEO, len(group))).round().astype(int)
        chosen += [group[i] for i in sorted(set(picks))]
    return chosen


def check_identities(folder: Path, manifest: dict, recognizer_name: str = "dlib") -> dict:
    """Embed the set's original faces and measure how well the labels separate (see module docstring)."""
    import torch

    from nullswap.recognizers import load

    recognizer = load(recognizer_name)
    faces = _chosen(manifest["faces"])
    images = np.stack([np.asarray(Image.open(folder / f["file"]).convert("RGB")) for f in faces])
    batch = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    embeddings = recognizer.embed_numpy(batch, batch_size=16)
    similarity = embeddings @ embeddings.T
    identities = np.array([f["identity"] for f in faces])
    members = np.array([f["member"] for f in faces])
    threshold = float(recognizer.threshold) if recognizer.threshold is not None else None

    spreads, nearest = {}, {}
    for who in sorted(set(identities)):
        mine = np.flatnonzero(identities == who)
        others = np.flatnonzero(identities != who)
        if len(mine) > 1:
            block = similarity[np.ix_(mine, mine)]
            spreads[who] = {
                "faces": len(mine),
                "files": len(set(members[mine])),
                "min_cosine": round(float(block[~np.eye(len(mine), dtype=bool)].min()), 3),
                "split": faces[mine[0]]["split"],
            }
        cross = similarity[np.ix_(mine, others)]
        i, j = np.unravel_index(int(cross.argmax()), cross.shape)
        nearest[who] = {
            "other": str(identities[others[j]]),
            "max_cosine": round(float(cross[i, j]), 3),
            "pair": [faces[mine[i]]["key"], faces[others[j]]["key"]],
        }

    # Leave-one-out nearest neighbour over independent photos of multi-photo identities.
    photo = np.array([f["kind"] == "photo" for f in faces])
    multi = {w for w, s in spreads.items() if s["files"] > 1}
    probes = [k for k in range(len(faces)) if photo[k] and identities[k] in multi]
    correct, errors = 0, []
    for k in probes:
        scores = similarity[k].copy()
        scores[members == members[k]] = -np.inf  # not itself, nor another face of the same file
        best = int(scores.argmax())
        if identities[best] == identities[k]:
            correct += 1
        else:
            errors.append({"probe": faces[k]["key"], "identity": str(identities[k]),
                           "nearest": faces[best]["key"], "cosine": round(float(scores[best]), 3)})
    suspects = sorted(
        (
            {"a": a, "b": v["other"], "max_cosine": v["max_cosine"], "pair": v["pair"]}
            for a, v in nearest.items()
            if threshold is not None and v["max_cosine"] >= threshold and a < v["other"]
        ),
        key=lambda s: -s["max_cosine"],
    )
    return {
        "recognizer": recognizer_name,
        "threshold_cosine": threshold,
        "faces_embedded": len(faces),
        "video_frames_per_video": MAX_FRAMES_PER_VIDEO,
        "spreads": spreads,
        "nearest_other_identity": nearest,
        "different_labels_above_threshold": suspects,
        "nearest_neighbour": {
            "probes": len(probes),
            "correct": int(correct),
            "accuracy": round(correct / len(probes), 4) if probes else None,
            "rule": "independent photos of identities with ≥ 2 files; neighbours from the probe's own file excluded",
            "errors": errors,
        },
    }


def format_report(report: dict) -> str:
    lines = [
        f"identity check with {report['recognizer']} (same person above cosine {report['threshold_cosine']}), "
        f"{report['faces_embedded']} faces",
        f"{'identity':28} {'split':5} {'faces':>5} {'files':>5} {'min cos':>8}   nearest other identity",
    ]
    for who, s in report["spreads"].items():
        near = report["nearest_other_identity"][who]
        lines.append(
            f"{who:28} {s['split']:5} {s['faces']:5d} {s['files']:5d} {s['min_cosine']:8.3f}   "
            f"{near['other']} ({near['max_cosine']:.3f})"
        )
    nn = report["nearest_neighbour"]
    lines.append(f"nearest-neighbour identification: {nn['correct']}/{nn['probes']} ({nn['rule']})")
    lines += [f"  missed: {e['probe']} ({e['identity']}) → {e['nearest']} ({e['cosine']:.3f})" for e in nn["errors"]]
    suspects = report["different_labels_above_threshold"]
    lines.append(f"{len(suspects)} pairs of different labels above the threshold:")
    lines += [f"  {s['a']} ~ {s['b']}: {s['max_cosine']:.3f} {s['pair']}" for s in suspects]
    return "\n".join(lines)


def save_report(folder: Path, report: dict) -> Path:
    path = folder / "identity_check.json"
    write_text(path, json.dumps(report, indent=1) + "\n")
    return path
