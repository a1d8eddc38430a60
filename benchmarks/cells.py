"""The cells of Tables 1, 2, 4 and 5: one protector under one recognizer, or one protector's visual quality.

Each function reads what it needs from a :class:`benchmarks.workspace.Workspace` (which protects and
embeds each image set once) and returns a :class:`benchmarks.store.CellOutput` with the values, the
counts behind them, the failures and the provenance a table needs to be trusted.

An image the protector failed to protect (:meth:`benchmarks.workspace.Workspace.protection_failures`)
is its own outcome: it is left out of every metric of the column (no probe, no PSNR), counted and listed
with its message in the cell's ``failures`` (``protection``, ``protection_failed``), and named in the
cell's notes, which every table repeats.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from benchmarks.specs import ProtectorSpec, RecognizerSpec
from benchmarks.store import CellOutput
from benchmarks.workspace import Workspace
from nullswap.data.base import FaceSet
from nullswap.metrics.identification import PROTOCOL, identify
from nullswap.metrics.visual import visual_quality


def dataset_notes(faces: FaceSet) -> list[str]:
    """Caveats a table must repeat about the data set (e.g. the offline sample's augmented views)."""
    notes = []
    warning = faces.notes.get("protocol_warning") if isinstance(faces.notes, Mapping) else None
    if warning:
        notes.append(
            f"{warning}: the identification protocol is unchanged, but its gallery templates are "
            "built from transformed views of a few photographs per identity"
        )
    return notes


#: how many failed images a cell's note names (the cell's ``failures`` lists them all)
NOTE_LIMIT = 3


def protection_failures(ws: Workspace, protector: ProtectorSpec) -> tuple[dict[str, object], list[str]]:
    """The cell's ``failures`` entries and note for the images ``protector`` failed to protect."""
    failed = ws.protection_failures(protector)
    if not failed:
        return {"protection": 0}, []
    own_name = f"{protector.registry or protector.name}: "  # the adapter's messages start with it; the note's column says it
    named = "; ".join(f"{key}: {message.removeprefix(own_name)}" for key, message in list(failed.items())[:NOTE_LIMIT])
    more = f"; and {len(failed) - NOTE_LIMIT} more" if len(failed) > NOTE_LIMIT else ""
    note = (f"{len(failed)} of {len(ws.faceset)} images failed protection and are left out "
            f"of every metric ({named}{more})")
    return {"protection": len(failed), "protection_failed": failed}, [note]


def identification_cell(
    ws: Workspace,
    protector: ProtectorSpec,
    recognizer: RecognizerSpec,
    *,
    ks: tuple[int, ...] = (1, 5),
    singletons_as_distractors: bool = True,
) -> CellOutput:
    faces = ws.faceset
    clean, clean_meta = ws.embeddings(recognizer, None)
    probes, probe_meta = (clean, clean_meta) if protector.is_clean else ws.embeddings(recognizer, protector)
    protector_meta = ws.protection_meta(protector)
    described = clean_meta.get("recognizer", {})
    threshold = described.get("threshold")
    failed, failure_notes = protection_failures(ws, protector)
    result = identify(
        clean,
        probes,
        faces.identities,
        ks=ks,
        threshold=threshold,
        singletons_as_distractors=singletons_as_distractors,
        exclude=ws.protection_failed(protector),
    )
    return CellOutput(
        kind="identification",
        values=result.summary(),
        counts={
            "images": result.n_images,
            "probes": result.n_probes,
            "skipped": result.n_skipped,
            "excluded": result.n_excluded,
            "identities": result.n_identities,
            "gallery_templates": result.n_gallery_templates,
        },
        failures={"probe_embedding": result.n_probe_failures, "gallery_embedding": result.n_gallery_failures,
                  **failed},
        per_image={
            "keys": faces.keys,
            "identities": faces.identities,
            "rank": result.ranks,
            "status": result.status,
            "same_image_cosine": np.round(result.same_image_cosine, 6),
        },
        notes=result.notes + failure_notes + dataset_notes(faces),
        provenance={
            "dataset": ws.dataset_record(),
            "protocol": PROTOCOL,
            "device": ws.device,
            "recognizer": described,
            "thresholds": {recognizer.name: threshold},
            "protector": protector_meta.get("protector"),
            "protection": {
                k: protector_meta.get(k) for k in ("wall_time_s", "seconds_per_image", "device", "created")
            },
            "inputs": {
                "clean_embeddings_cached": bool(clean_meta.get("cached")),
                "protected_embeddings_cached": bool(probe_meta.get("cached")),
            },
        },
    )


def visual_cell(
    ws: Workspace, protector: ProtectorSpec, *, perceptual: str | None, gaussian_ssim: bool = False
) -> CellOutput:
    faces = ws.faceset
    protected, meta = ws.protected(protector)
    failed, failure_notes = protection_failures(ws, protector)
    kept = np.flatnonzero(~ws.protection_failed(protector))
    metric = ws.perceptual(perceptual) if perceptual else None
    quality = visual_quality(
        faces.images[kept],
        protected[kept],
        metric,
        batch_size=ws.batch_size,
        device=ws.device,
        gaussian_ssim=gaussian_ssim,
    )
    values = quality.summary() | {"identical_images": quality.n_identical}
    per_image = {"keys": [faces.keys[i] for i in kept], "psnr": np.round(quality.psnr, 4),
                 "ssim": np.round(quality.ssim, 6)}
    if quality.perceptual is not None:
        per_image["perceptual"] = np.round(quality.perceptual, 6)
    return CellOutput(
        kind="visual",
        values=values,
        counts={"images": len(faces), "measured": len(kept)},
        failures=failed,
        per_image=per_image,
        notes=quality.notes + failure_notes,  # the table names the column (builders._cell_notes)
        provenance={
            "dataset": ws.dataset_record(),
            "device": ws.device,
            "protector": meta.get("protector"),
            "protection": {k: meta.get(k) for k in ("wall_time_s", "seconds_per_image", "device", "created")},
            "perceptual": metric.describe() if metric is not None and hasattr(metric, "describe") else None,
            "ssim_window": quality.ssim_window,
            "inputs": {"protected_cached": bool(meta.get("cached"))},
        },
    )
