"""Shared pieces of the protect tests: a small generator checkpoint whose change survives rounding,
real face photos at a test-friendly size, and file-tree fingerprints."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nullswap.checkpoint import CHECKPOINT_FORMAT
from nullswap.model import ModelConfig, NullSwapGenerator

TINY = dict(width=16, id_blocks=1, perturbation_blocks=1, feature_blocks=1)
OBAMA = ("face_recognition", "face_recognition-1.3.0/tests/test_images/obama.jpg")
BIDEN = ("face_recognition", "face_recognition-1.3.0/tests/test_images/biden.jpg")


def write_tiny_checkpoint(path: Path) -> Path:
    """A small generator whose residual head is scaled up so its change is visible after rounding
    (plumbing only: it is not a trained protector)."""
    torch.manual_seed(0)
    generator = NullSwapGenerator(ModelConfig(**TINY))
    with torch.no_grad():
        generator.cloak_image[-1].weight.mul_(50)
    torch.save({"format": CHECKPOINT_FORMAT, "generator": generator.state_dict(), "recognizers": ["dlib"],
                "config": {"model": dict(TINY), "train": {"resolution": 128}}}, path)
    return path


def face_rgb(path: Path, width: int = 360) -> np.ndarray:
    """A real face photo shrunk to ``width`` pixels (detection stays quick in tests)."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        height = round(image.height * width / image.width)
        return np.asarray(image.resize((width, height), Image.LANCZOS))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path → sha256)."""
    return {str(p.relative_to(root)): digest(p) for p in sorted(root.rglob("*")) if p.is_file()}
