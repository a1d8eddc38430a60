"""The recognizer sanity gate: a recognizer must tell real people apart before its numbers make a table.

deepface publishes no sha256 for ArcFace, Facenet or VGG-Face, so a damaged, wrong or random file loads
without complaint and would produce a table of meaningless accuracies.  The gate embeds the bundled real
faces of the offline sample (46 faces of 41 people from package registries: Obama in three photographs
and three other people in two) and compares the cosine similarity of *genuine* pairs (two photographs of
one person) with that of *impostor* pairs (two people).  A working recognizer ranks genuine pairs above
impostor pairs almost always (measured: dlib 0.992, SFace 1.000, MobileFaceNet 1.000 as ROC AUC); a
random deepface network scores 0.66–0.69.  A recognizer below :data:`MIN_AUC` is refused with the numbers.

A stand-in (:mod:`nullswap.standin`) is refused outright in a normal run, also with the numbers.  A
rehearsal (``rehearsal=true``) lets stand-ins through, labelled: the log says so, and every result made
with them carries the stand-in (the results store then heads its tables as a rehearsal).  A recognizer
that is not a stand-in and fails the gate is refused in a rehearsal too: wrong weights are never
rehearsal material.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from nullswap import standin
from nullswap.data.base import FaceSet

log = logging.getLogger("nullswap")

#: the least ROC AUC (genuine vs impostor cosine) a recognizer must reach on the bundled faces
MIN_AUC = 0.90


class RecognizerRefused(ValueError):
    """A recognizer failed the sanity gate (or is a stand-in outside a rehearsal); the message has the numbers."""


@dataclass
class SanityResult:
    """How well one recognizer separates genuine from impostor pairs of the bundled real faces."""

    recognizer: str
    faces: int
    genuine_pairs: int
    impostor_pairs: int
    genuine_mean: float
    impostor_mean: float
    auc: float
    min_auc: float = MIN_AUC
    #: stand-in weight files the recognizer reads (``"<file>: <reason>"``)
    standins: list[str] = field(default_factory=list)

    @property
    def separates(self) -> bool:
        return self.auc >= self.min_auc

    def numbers(self) -> str:
        return (f"{self.recognizer}: genuine-pair cosine {self.genuine_mean:.3f} ({self.genuine_pairs} pairs), "
                f"impostor-pair cosine {self.impostor_mean:.3f} ({self.impostor_pairs} pairs), ROC AUC "
                f"{self.auc:.3f} (a working recognizer ≥ {self.min_auc:.2f}; chance 0.5) on {self.faces} "
                "bundled real faces")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "separates": self.separates}


def gate_faces() -> FaceSet:
    """The bundled real faces the gate embeds: every original face of the offline sample."""
    from nullswap.data.sample import load_sample

    return load_sample("all")


def pair_auc(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """P(genuine cosine > impostor cosine), ties counted half: the ROC AUC, threshold-free."""
    if len(genuine) == 0 or len(impostor) == 0:
        raise ValueError("the gate needs genuine and impostor pairs")
    greater = (genuine[:, None] > impostor[None, :]).mean()
    ties = (genuine[:, None] == impostor[None, :]).mean()
    return float(greater + 0.5 * ties)


def check(model: torch.nn.Module, faces: FaceSet | None = None, name: str | None = None,
          batch_size: int = 16) -> SanityResult:
    """Embed ``faces`` (default :func:`gate_faces`) with ``model`` and measure genuine vs impostor pairs."""
    faces = faces if faces is not None else gate_faces()
    images = torch.from_numpy(np.ascontiguousarray(faces.images)).permute(0, 3, 1, 2).float() / 255.0
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    with torch.no_grad():
        chunks = [model(images[i : i + batch_size].to(device)).float().cpu()
                  for i in range(0, len(images), batch_size)]
    embeddings = torch.nn.functional.normalize(torch.cat(chunks), dim=-1).numpy()
    similarity = embeddings @ embeddings.T
    genuine, impostor = [], []
    for a, b in itertools.combinations(range(len(faces)), 2):
        (genuine if faces.identities[a] == faces.identities[b] else impostor).append(similarity[a, b])
    genuine_array, impostor_array = np.asarray(genuine), np.asarray(impostor)
    described = model.describe() if hasattr(model, "describe") else {}
    return SanityResult(
        recognizer=name or str(described.get("name") or getattr(model, "name", type(model).__name__)),
        faces=len(faces),
        genuine_pairs=len(genuine_array),
        impostor_pairs=len(impostor_array),
        genuine_mean=float(genuine_array.mean()),
        impostor_mean=float(impostor_array.mean()),
        auc=pair_auc(genuine_array, impostor_array),
        standins=standin.reasons(described),
    )


def verdict(result: SanityResult, *, rehearsal: bool) -> SanityResult:
    """Pass ``result``, or raise :class:`RecognizerRefused` saying why, with the numbers.

    Refused: a stand-in outside a rehearsal; any recognizer that does not separate the bundled faces,
    unless it is a stand-in in a rehearsal (then it passes, labelled in the log and in every result)."""
    if result.standins and not rehearsal:
        raise RecognizerRefused(
            f"recognizer {result.recognizer} reads stand-in weights ({standin.summary(result.standins)}), not the "
            f"published ones; refused outside a rehearsal (rehearsal=true).\n  sanity gate: {result.numbers()}\n"
            "  python -m nullswap.weights list shows every weight file and what it is")
    if not result.separates and not result.standins:
        raise RecognizerRefused(
            f"recognizer {result.recognizer} does not tell real people apart — its weights are wrong, damaged or "
            f"random.\n  sanity gate: {result.numbers()}\n  python -m nullswap.weights list shows each weight "
            "file and its sha256; replace the file and run again")
    if result.standins:
        log.warning("%s: %s stands in for %s (sanity gate: %s); let through because rehearsal=true, and every "
                    "result made with it is labelled", standin.REHEARSAL_HEADER, standin.summary(result.standins),
                    result.recognizer, result.numbers())
    return result


def gate(model: torch.nn.Module, *, rehearsal: bool = False, faces: FaceSet | None = None,
         name: str | None = None) -> SanityResult:
    """:func:`check` then :func:`verdict`: the recognizer passes, passes labelled, or is refused."""
    return verdict(check(model, faces, name), rehearsal=rehearsal)
