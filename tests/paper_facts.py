"""The facts a cell records in the paper's setting, written out for report tests (no model is run).

Each helper returns the provenance piece a real run records: a recognizer's weight files (deepface's have
no published hash), the LPIPS backbone's, and a NullSwap checkpoint's training as ``nullswap.train``
records it — 60 epochs of batch 256 against ArcFace + FaceNet on the 24,183 CelebA-HQ train images.
Tests change one fact at a time and check that the header says so.
"""

from __future__ import annotations

from typing import Any

from benchmarks.report import paper


def weight_file(name: str, status: str = "no published hash", sha256: str = "ab" * 32,
                standin_file: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status, "file": f"/weights/{name}.pth", "sha256": sha256,
                             "sha256_published": None}
    if standin_file:
        entry.update({"standin": True, "file": standin_file, "reason": "random weights: rehearsal"})
    return entry


def recognizer(name: str, **file: Any) -> dict[str, Any]:
    """A deepface recognizer's description with its weight file's status."""
    entry = f"deepface_{name.replace('-deepface', '')}"
    return {"name": name, "weights": {entry: None}, "weight_files": {entry: weight_file(entry, **file)}}


def lpips(**file: Any) -> dict[str, Any]:
    defaults = {"status": "sha256 ok", "sha256": "7be5be79" + "0" * 56}
    return {"name": "lpips-alex", "weight_files": {"lpips_alexnet_backbone": weight_file(
        "lpips_alexnet_backbone", **{**defaults, **file})}}


def training(**changes: Any) -> dict[str, Any]:
    """A NullSwap checkpoint's training facts (``nullswap.checkpoint.training_facts``), the paper's by default."""
    facts: dict[str, Any] = {
        "recognizers": ["arcface", "facenet"],
        "steps": paper.TRAINING["steps"],
        "steps_planned": paper.TRAINING["steps"],
        "epochs": 60,
        "batch_size": 256,
        "resolution": 256,
        "data": {"name": "celebahq-train", "split": "train", "max_images": None, "n_images": 24_183,
                 "n_identities": 4_500},
        "perceptual": "lpips-alex",
        "dlw": "dlw",
        "rehearsal": False,
        "weight_files": {"arcface": {"deepface_arcface": weight_file("deepface_arcface")},
                         "facenet": {"deepface_facenet": weight_file("deepface_facenet")}},
    }
    facts.update(changes)
    return facts


def nullswap(**changes: Any) -> dict[str, Any]:
    """The NullSwap protector's description with its checkpoint's training facts."""
    return {"name": "nullswap", "checkpoint": "/runs/paper/checkpoints/last.pt", "training": training(**changes)}


def dataset(n: int, name: str = "celebahq", split: str = "test", **config: Any) -> dict[str, Any]:
    return {
        "config": {"name": name, "split": split, "max_images": None, **config},
        "name": name,
        "n_images": n,
        "n_identities": n // 5,
        "fingerprint": "0" * 16,
        "notes": {},
    }
