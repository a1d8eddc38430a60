"""Table 3's cells: a swapper row, the swaps it makes (cached per swapper, source images and pairs), and
the similarity / identification numbers of one (protector × swapper) cell.

Planning and running the table live in :mod:`benchmarks.table3`; this module computes, given a
:class:`SwapWorkspace`, what one cell measures.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from benchmarks.errors import BenchmarkError
from benchmarks.specs import ProtectorSpec, RecognizerSpec
from benchmarks.store import (
    CellOutput,
    atomic_write_json,
    config_hash,
    now_iso,
    weights_record,
)
from benchmarks.workspace import Workspace
from nullswap.atomic import atomic_path
from nullswap.images import to_uint8
from nullswap.metrics.embedding import embed_images, normalize_rows, valid_rows
from nullswap.metrics.swap import swap_similarity_from_embeddings

log = logging.getLogger("benchmarks")

OUTCOMES = ("no_face", "failed")


@dataclass(frozen=True)
class SwapperSpec:
    """One swapper row: registry name and options (``nullswap/conf/benchmark/table3.yaml`` ``swapper_options``)."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "options": dict(self.options)}

    @property
    def tag(self) -> str:
        return f"{self.name}-{config_hash(self.config())}"


def default_build_swapper(spec: SwapperSpec) -> Any:
    import swappers

    return swappers.load(spec.name, **dict(spec.options))


@dataclass
class Swapped:
    """The swap results of one set of sources onto the pairs' targets."""

    images: np.ndarray  # (P, H, W, 3) uint8; zeros where status != ok
    status: list[str]
    messages: list[str]
    meta: dict[str, Any]


class SwapWorkspace:
    """A :class:`Workspace` plus the swapper models and a cache of swap results."""

    def __init__(
        self,
        ws: Workspace,
        pairs: Sequence[tuple[int, int]],
        build_swapper: Callable[[SwapperSpec], Any] = default_build_swapper,
    ) -> None:
        self.ws = ws
        self.pairs = [tuple(p) for p in pairs]
        self.build_swapper = build_swapper
        self._swappers: dict[str, Any] = {}
        self._swapped: dict[tuple[str, str], Swapped] = {}

    @property
    def pairs_hash(self) -> str:
        faces = self.ws.faceset
        return config_hash({"pairs": [[faces.keys[s], faces.keys[t]] for s, t in self.pairs]})

    def swapper(self, spec: SwapperSpec) -> Any:
        if spec.tag not in self._swappers:
            log.info("loading swapper %s", spec.name)
            self._swappers[spec.tag] = self.build_swapper(spec)
        return self._swappers[spec.tag]

    def swapped(self, swapper: SwapperSpec, protector: ProtectorSpec) -> Swapped:
        """Swaps of ``protector``'s images of the pairs' sources onto their clean targets (cached)."""
        images_tag = "clean" if protector.is_clean else protector.tag
        memo = (swapper.tag, images_tag)
        if memo in self._swapped:
            return self._swapped[memo]
        path = self.ws.cache_dir / "swaps" / swapper.tag / f"{images_tag}-{self.pairs_hash}.npz"
        meta_path = path.with_suffix(".json")
        if path.is_file() and meta_path.is_file():
            meta = json.loads(meta_path.read_text())
            with np.load(path) as data:
                result = Swapped(data["images"], list(meta["status"]), list(meta["messages"]), meta | {"cached": True})
            self._swapped[memo] = result
            return result
        faces = self.ws.faceset
        protected, _ = self.ws.protected(protector)
        sources = torch.from_numpy(np.ascontiguousarray(protected[[s for s, _ in self.pairs]]))
        targets = torch.from_numpy(np.ascontiguousarray(faces.images[[t for _, t in self.pairs]]))
        model = self.swapper(swapper)
        start = time.perf_counter()
        images, status, messages = [], [], []
        batch = max(1, self.ws.batch_size)
        for i in range(0, len(self.pairs), batch):
            src = sources[i : i + batch].permute(0, 3, 1, 2).float().div(255.0)
            tgt = targets[i : i + batch].permute(0, 3, 1, 2).float().div(255.0)
            out = model.swap(src, tgt)
            if len(out.status) != len(src):
                raise BenchmarkError(f"swapper {swapper.name} returned {len(out.status)} statuses for {len(src)} pairs")
            images.append(to_uint8(out.images))
            status += list(out.status)
            messages += list(out.messages)
            log.info("swap %s × %s: %d/%d", swapper.name, images_tag, min(i + batch, len(self.pairs)), len(self.pairs))
        array = np.concatenate(images)
        array[[s != "ok" for s in status]] = 0
        wall = time.perf_counter() - start
        describe = model.describe() if hasattr(model, "describe") else {"name": swapper.name}
        meta = {
            "swapper": weights_record(describe),
            "spec": swapper.config(),
            "sources": images_tag,
            "pairs": [[faces.keys[s], faces.keys[t]] for s, t in self.pairs],
            "status": status,
            "messages": messages,
            "wall_time_s": round(wall, 3),
            "created": now_iso(),
        }
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            np.savez_compressed(handle, images=array)
        atomic_write_json(meta_path, meta)
        result = Swapped(array, status, messages, meta | {"cached": False})
        self._swapped[memo] = result
        return result


def _outcomes(status: Sequence[str]) -> dict[str, int]:
    return {outcome: int(sum(s == outcome for s in status)) for outcome in OUTCOMES}


def identity_templates(embeddings: np.ndarray, identities: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """One normalised mean embedding per identity (images that failed to embed are left out)."""
    good = valid_rows(embeddings)
    names = sorted({who for who, ok in zip(identities, good) if ok})
    rows = normalize_rows(embeddings)
    templates = np.stack([rows[[ok and who == n for who, ok in zip(identities, good)]].mean(0) for n in names])
    return names, normalize_rows(templates)


def identified_as(embeddings: np.ndarray, names: list[str], templates: np.ndarray) -> list[str | None]:
    """The nearest gallery identity of each row (``None`` for a row that failed to embed)."""
    rows = normalize_rows(embeddings)
    good = valid_rows(rows)
    scores = np.where(good[:, None], np.nan_to_num(rows) @ templates.T, -np.inf)
    return [names[int(i)] if ok else None for i, ok in zip(scores.argmax(1), good)]


def swap_cell(sws: SwapWorkspace, protector: ProtectorSpec, swapper: SwapperSpec, recognizers: Sequence[RecognizerSpec]) -> CellOutput:
    ws = sws.ws
    faces = ws.faceset
    clean = sws.swapped(swapper, ProtectorSpec("clean"))
    protected = sws.swapped(swapper, protector)
    ok_clean = [s == "ok" for s in clean.status]
    ok_protected = [s == "ok" for s in protected.status]
    sources = [faces.identities[s] for s, _ in sws.pairs]
    similarity, identified, identified_clean, valid, embedding_failures, per_pair = {}, {}, {}, {}, {}, {}
    recognizer_records = {}
    for rec in recognizers:
        model = ws.recognizer(rec)
        a = embed_images(model, clean.images, batch_size=ws.batch_size, device=ws.device)
        b = embed_images(model, protected.images, batch_size=ws.batch_size, device=ws.device)
        result = swap_similarity_from_embeddings(a, b, ok_clean=ok_clean, ok_protected=ok_protected)
        gallery, _ = ws.embeddings(rec, None)
        names, templates = identity_templates(gallery, faces.identities)
        who_protected = identified_as(b, names, templates)
        who_clean = identified_as(a, names, templates)
        counted = [ok and w is not None for ok, w in zip(ok_protected, who_protected)]
        counted_clean = [ok and w is not None for ok, w in zip(ok_clean, who_clean)]
        hits = [c and w == s for c, w, s in zip(counted, who_protected, sources)]
        hits_clean = [c and w == s for c, w, s in zip(counted_clean, who_clean, sources)]
        similarity[rec.name] = result.mean
        identified[rec.name] = sum(hits) / sum(counted) if sum(counted) else None
        identified_clean[rec.name] = sum(hits_clean) / sum(counted_clean) if sum(counted_clean) else None
        valid[rec.name] = result.n_valid
        embedding_failures[rec.name] = result.n_embedding_failures
        per_pair[f"similarity_{rec.name}"] = np.round(result.similarity, 6)
        per_pair[f"identified_{rec.name}"] = who_protected
        described = model.describe() if hasattr(model, "describe") else {"name": rec.name}
        recognizer_records[rec.name] = weights_record(described)
    swap_failed = sum(not (a and b) for a, b in zip(ok_clean, ok_protected))
    notes = []
    if swap_failed:
        notes.append(
            f"{swapper.name} × {protector.name}: {swap_failed} of {len(sws.pairs)} pairs without a swap "
            f"(clean source {_outcomes(clean.status)}, protected source {_outcomes(protected.status)}), "
            "counted and left out of the means"
        )
    protection = ws.protection_meta(protector)
    return CellOutput(
        kind="swap",
        values={
            "similarity": similarity,
            "identified_as_source": identified,
            "identified_as_source_clean": identified_clean,
        },
        counts={
            "pairs": len(sws.pairs),
            "images": len(faces),
            "identities": len(set(faces.identities)),
            "valid_pairs": valid,
        },
        failures={
            "pairs_without_swap": swap_failed,
            "clean_swap": _outcomes(clean.status),
            "protected_swap": _outcomes(protected.status),
            "embedding": embedding_failures,
        },
        per_image={
            "source": [faces.keys[s] for s, _ in sws.pairs],
            "target": [faces.keys[t] for _, t in sws.pairs],
            "source_identity": sources,
            "clean_swap_status": clean.status,
            "protected_swap_status": protected.status,
            **per_pair,
        },
        notes=notes,
        provenance={
            "dataset": ws.dataset_record(),
            "device": ws.device,
            "swapper": protected.meta.get("swapper"),
            "recognizers": recognizer_records,
            "protector": protection.get("protector"),
            "protection": {k: protection.get(k) for k in ("wall_time_s", "seconds_per_image", "device", "created")},
            "swaps": {
                "clean": {k: clean.meta.get(k) for k in ("wall_time_s", "created", "cached")},
                "protected": {k: protected.meta.get(k) for k in ("wall_time_s", "created", "cached")},
            },
            "gallery": "one mean clean embedding per test identity (original photographs)",
        },
    )


# --------------------------------------------------------------------------------------------------
# Configuration → cells
# --------------------------------------------------------------------------------------------------
