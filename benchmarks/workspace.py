"""An experiment workspace: protects and embeds each image set once, so the cells that share it are cheap.

The expensive steps are shared and cached under the experiment folder:

* ``cache/<dataset>-<fingerprint>/protected/<protector>-<hash>.npz`` — the protected images of the
  whole data set, **uint8** (as a user would save them; every metric reads these), plus a ``.json``
  with the protector's description and timing and a small ``.preview.npz`` for figures;
* ``cache/<dataset>-<fingerprint>/embeddings/<recognizer>-<hash>/<images>.npz`` — embeddings of the
  clean images and of each protected set, plus a ``.json`` with the recognizer's description.

The fingerprint hashes the data set's keys, labels and pixels, so a changed data set never reuses a
stale cache.

A protector reports each image's outcome (``last_status``/``last_messages``, see
:class:`baselines.base.Protector`): an image it failed to protect — its upstream raised on it, its output
was not finite, or its change broke the bound the method promises — is kept as its clean crop in the
protected set and listed with its message in the metadata (``failures``, :meth:`Workspace.protection_failures`),
so that the cells leave it out of every metric instead of counting it as protected, and the column goes
on with the other images.  Nothing here runs until a cell needs it: a finished table loads no data set and no model.
The ``clean`` protector is the identity by contract; its "protected" images are the clean uint8 images
themselves and are neither recomputed nor stored twice.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.errors import BenchmarkError
from benchmarks.specs import CLEAN, ProtectorSpec, RecognizerSpec
from benchmarks.store import atomic_write_json, now_iso, weights_record
from nullswap.atomic import atomic_path
from nullswap.data.base import FaceSet
from nullswap.images import to_uint8
from nullswap.metrics.embedding import embed_images
from nullswap.runtime import device_name, seed_everything

log = logging.getLogger("benchmarks")
PREVIEW_IMAGES = 6


def _accepts(factory: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def default_load_dataset(cfg: Mapping[str, Any]) -> FaceSet:
    """:func:`nullswap.data.load.load_dataset`; its loaders select ``max_images`` before aligning anything."""
    from nullswap.data.load import load_dataset

    return load_dataset(dict(cfg), str(cfg.get("split", "test")))


def default_build_protector(spec: ProtectorSpec, device: str | None = None) -> Any:
    """``baselines.load(registry, **options)``, handing the run's seed and device to protectors that take them."""
    import baselines

    name = spec.registry or spec.name
    options = dict(spec.options)
    factory = baselines.REGISTRY.get(name)
    if "seed" not in options and _accepts(factory, "seed"):
        options["seed"] = spec.seed
    if "device" not in options and device is not None and _accepts(factory, "device"):
        options["device"] = device
    return baselines.load(name, **options)


def default_build_recognizer(spec: RecognizerSpec, device: str) -> torch.nn.Module:
    import nullswap.recognizers

    return nullswap.recognizers.load(spec.name, device=device, **dict(spec.options))


def default_build_perceptual(name: str) -> torch.nn.Module:
    from nullswap.perceptual import load_perceptual

    return load_perceptual(name)


@dataclass
class Components:
    """How a run gets its inputs; tests swap in counting doubles, the defaults use the registries."""

    load_dataset: Callable[[Mapping[str, Any]], FaceSet] = default_load_dataset
    build_protector: Callable[[ProtectorSpec, str], Any] = default_build_protector
    build_recognizer: Callable[[RecognizerSpec, str], torch.nn.Module] = default_build_recognizer
    build_perceptual: Callable[[str], torch.nn.Module] = default_build_perceptual


def reusing(components: Components | None = None) -> Components:
    """``components`` whose data sets, recognizers and perceptual metrics are loaded once and handed to
    every run of this process (the demo's tables run one after another in one process).

    Protectors are built anew for each run: some carry random state from one call to the next, and a
    run must measure what a separate process would."""
    base = components or Components()
    datasets: dict[str, FaceSet] = {}
    recognizers: dict[tuple[str, str], torch.nn.Module] = {}
    perceptual: dict[str, torch.nn.Module] = {}

    def load_dataset(cfg: Mapping[str, Any]) -> FaceSet:
        key = json.dumps(dict(cfg), sort_keys=True, default=str)
        if key not in datasets:
            datasets[key] = base.load_dataset(cfg)
        return datasets[key]

    def build_recognizer(spec: RecognizerSpec, device: str) -> torch.nn.Module:
        if (spec.tag, device) not in recognizers:
            recognizers[spec.tag, device] = base.build_recognizer(spec, device)
        return recognizers[spec.tag, device]

    def build_perceptual(name: str) -> torch.nn.Module:
        if name not in perceptual:
            perceptual[name] = base.build_perceptual(name)
        return perceptual[name]

    return Components(load_dataset=load_dataset, build_protector=base.build_protector,
                      build_recognizer=build_recognizer, build_perceptual=build_perceptual)


def resolve_device(name: str) -> str:
    """:func:`nullswap.runtime.device_name`, its refusal reported as a :class:`BenchmarkError`."""
    try:
        return device_name(name)
    except ValueError as exc:
        raise BenchmarkError(str(exc)) from exc


def image_failures(protector: Any, result: torch.Tensor) -> dict[int, str]:
    """Images of the last ``protector.protect`` call that it reports failed (its ``last_status``), and any
    whose output is not finite (a protector that does not report per image): index → message."""
    failures: dict[int, str] = {}
    status = list(getattr(protector, "last_status", None) or [])
    messages = list(getattr(protector, "last_messages", None) or [])
    if len(status) == len(result):
        for index, state in enumerate(status):
            if state != "ok":
                message = messages[index] if index < len(messages) else ""
                failures[index] = message or f"protection {state}"
    for index, image in enumerate(result):
        if index not in failures and not bool(torch.isfinite(image).all()):
            failures[index] = "the protector returned non-finite pixels"
    return failures


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.savez_compressed(handle, **arrays)


class Workspace:
    """Shared, cached inputs of the cells of one experiment on one data set."""

    def __init__(
        self,
        root: Path,
        dataset: Mapping[str, Any],
        *,
        device: str = "cpu",
        batch_size: int = 16,
        components: Components | None = None,
    ) -> None:
        self.root = Path(root)
        self.dataset_cfg = dict(dataset)
        self.device = device
        self.batch_size = int(batch_size)
        self.components = components or Components()
        self._protectors: dict[str, Any] = {}
        self._recognizers: dict[str, torch.nn.Module] = {}
        self._perceptual: dict[str, torch.nn.Module] = {}
        self._protected: dict[str, tuple[np.ndarray, dict]] = {}
        self._embeddings: dict[tuple[str, str], tuple[np.ndarray, dict]] = {}

    # ---------------------------------------------------------------- data set
    @functools.cached_property
    def faceset(self) -> FaceSet:
        faces = self.components.load_dataset(self.dataset_cfg)
        limit = self.dataset_cfg.get("max_images")
        if limit is not None and len(faces) > int(limit):
            faces = faces.subset(range(int(limit)))
        if len(faces) == 0:
            raise BenchmarkError(f"data set {self.dataset_cfg} holds no images")
        log.info("data set %s: %d images, %d identities", faces.name, len(faces), len(set(faces.identities)))
        return faces

    @functools.cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        faces = self.faceset
        digest.update(json.dumps([faces.keys, faces.identities]).encode())
        digest.update(np.ascontiguousarray(faces.images).data)
        return digest.hexdigest()[:16]

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache" / f"{self.dataset_cfg.get('name', 'data')}-{self.fingerprint[:12]}"

    def dataset_record(self) -> dict[str, Any]:
        faces = self.faceset
        return {
            "config": self.dataset_cfg,
            "name": faces.name,
            "n_images": len(faces),
            "n_identities": len(set(faces.identities)),
            "fingerprint": self.fingerprint,
            "notes": faces.notes,
        }

    # ---------------------------------------------------------------- components
    def protector(self, spec: ProtectorSpec) -> Any:
        if spec.tag not in self._protectors:
            log.info("loading protector %s", spec.name)
            self._protectors[spec.tag] = self.components.build_protector(spec, self.device)
        return self._protectors[spec.tag]

    def recognizer(self, spec: RecognizerSpec) -> torch.nn.Module:
        if spec.tag not in self._recognizers:
            log.info("loading recognizer %s", spec.name)
            self._recognizers[spec.tag] = self.components.build_recognizer(spec, self.device)
        return self._recognizers[spec.tag]

    def perceptual(self, name: str) -> torch.nn.Module:
        if name not in self._perceptual:
            self._perceptual[name] = self.components.build_perceptual(name)
        return self._perceptual[name]

    # ---------------------------------------------------------------- cached image sets
    @functools.cached_property
    def preview_indices(self) -> list[int]:
        """The first image of each of the first few identities: what the qualitative figure shows."""
        first: dict[str, int] = {}
        for index, identity in enumerate(self.faceset.identities):
            first.setdefault(identity, index)
        return list(first.values())[:PREVIEW_IMAGES]

    def _write_preview(self) -> None:
        path = self.cache_dir / "clean.preview.npz"
        if not path.is_file():
            idx = self.preview_indices
            _save_npz(
                path, images=self.faceset.images[idx], keys=np.array([self.faceset.keys[i] for i in idx])
            )

    def _cached(self, path: Path, array: str) -> tuple[np.ndarray, dict[str, Any]] | None:
        """``array`` of the cache file ``path`` and its ``.json`` metadata, when both exist and were made
        from this data set's images (same keys, same order); None means it has to be computed."""
        meta_path = path.with_suffix(".json")
        if not (path.is_file() and meta_path.is_file()):
            return None
        with np.load(path) as data:
            values, keys = data[array], data["keys"].tolist()
        if keys != list(self.faceset.keys):
            return None
        return values, json.loads(meta_path.read_text()) | {"cached": True}

    def protected(self, spec: ProtectorSpec) -> tuple[np.ndarray, dict[str, Any]]:
        """Protected uint8 images of the whole data set (from the cache when present) and their metadata."""
        if spec.is_clean:
            return self.faceset.images, {
                "protector": {"name": CLEAN, "note": "identity: the clean uint8 images"},
                "spec": spec.config(),
                "cached": False,
            }
        if spec.tag in self._protected:
            return self._protected[spec.tag]
        path = self.cache_dir / "protected" / f"{spec.tag}.npz"
        meta_path = path.with_suffix(".json")
        found = self._cached(path, "images")
        if found is not None:
            self._protected[spec.tag] = found
            return found
        if path.is_file() and meta_path.is_file():
            log.warning("cached protected images %s do not match the data set; recomputing", path)
        images, meta = self._protect(spec)
        _save_npz(path, images=images, keys=np.array(self.faceset.keys))
        idx = self.preview_indices
        _save_npz(
            path.with_name(f"{spec.tag}.preview.npz"),
            images=images[idx],
            keys=np.array([self.faceset.keys[i] for i in idx]),
        )
        atomic_write_json(meta_path, meta)
        self._write_preview()
        meta = meta | {"cached": False}
        self._protected[spec.tag] = (images, meta)
        return images, meta

    def _protect(self, spec: ProtectorSpec) -> tuple[np.ndarray, dict[str, Any]]:
        protector = self.protector(spec)
        faces = self.faceset
        seed_everything(spec.seed)
        device = getattr(protector, "device", None) or "cpu"
        out = np.empty_like(faces.images)
        failures: dict[str, str] = {}
        t0 = time.perf_counter()
        for start in range(0, len(faces), self.batch_size):
            stop = min(start + self.batch_size, len(faces))
            batch = faces.tensor(slice(start, stop)).to(device)
            result = protector.protect(batch)
            if not isinstance(result, torch.Tensor) or tuple(result.shape) != tuple(batch.shape):
                shape = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
                raise BenchmarkError(
                    f"protector {spec.name} returned {shape} for a batch of {tuple(batch.shape)}"
                )
            failed = image_failures(protector, result)
            if failed:
                result = result.clone()
            for index, message in failed.items():
                key = faces.keys[start + index]
                failures[key] = message
                result[index] = batch[index].to(result.dtype)
                log.warning("protect %s: %s failed: %s", spec.name, key, message)
            out[start:stop] = to_uint8(result)
            log.info("protect %s: %d/%d", spec.name, stop, len(faces))
        wall = time.perf_counter() - t0
        describe = protector.describe() if hasattr(protector, "describe") else {"name": spec.name}
        meta = {
            "protector": weights_record(describe),
            "spec": spec.config(),
            "dataset_fingerprint": self.fingerprint,
            "n_images": len(faces),
            "n_failed": len(failures),
            "failures": failures,
            "wall_time_s": round(wall, 3),
            "seconds_per_image": wall / len(faces),
            "device": str(device),
            "created": now_iso(),
            "hostname": socket.gethostname(),
        }
        return out, meta

    def protection_failures(self, spec: ProtectorSpec) -> dict[str, str]:
        """Images ``spec`` failed to protect (key → message), in data-set order; ``{}`` for clean."""
        if spec.is_clean:
            return {}
        failures = dict(self.protected(spec)[1].get("failures") or {})
        return {key: failures[key] for key in self.faceset.keys if key in failures}

    def protection_failed(self, spec: ProtectorSpec) -> np.ndarray:
        """Per image of the data set, whether ``spec`` failed to protect it (its metrics must leave it out)."""
        failures = self.protection_failures(spec)
        return np.array([key in failures for key in self.faceset.keys], dtype=bool)

    def protection_meta(self, spec: ProtectorSpec) -> dict[str, Any]:
        """Metadata of ``spec``'s protected set without loading its images ({} if it was never made)."""
        if spec.is_clean:
            return self.protected(spec)[1]
        if spec.tag in self._protected:
            return self._protected[spec.tag][1]
        path = self.cache_dir / "protected" / f"{spec.tag}.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def _embedding_path(self, rec: RecognizerSpec, spec: ProtectorSpec | None) -> Path:
        images_tag = CLEAN if spec is None or spec.is_clean else spec.tag
        return self.cache_dir / "embeddings" / rec.tag / f"{images_tag}.npz"

    def has_embeddings(self, rec: RecognizerSpec, spec: ProtectorSpec | None) -> bool:
        """Whether these embeddings are in memory or in the cache (then no model is needed for them)."""
        images_tag = CLEAN if spec is None or spec.is_clean else spec.tag
        path = self._embedding_path(rec, spec)
        return (rec.tag, images_tag) in self._embeddings or (
            path.is_file() and path.with_suffix(".json").is_file()
        )

    def embeddings(
        self, rec: RecognizerSpec, spec: ProtectorSpec | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Embeddings of the clean images (``spec`` None or clean) or of ``spec``'s protected images."""
        images_tag = CLEAN if spec is None or spec.is_clean else spec.tag
        memo = (rec.tag, images_tag)
        if memo in self._embeddings:
            return self._embeddings[memo]
        path = self._embedding_path(rec, spec)
        meta_path = path.with_suffix(".json")
        found = self._cached(path, "embeddings")
        if found is not None:
            self._embeddings[memo] = found
            return found
        images = self.faceset.images if images_tag == CLEAN else self.protected(spec)[0]
        model = self.recognizer(rec)
        t0 = time.perf_counter()
        embeddings = embed_images(model, images, batch_size=self.batch_size, device=self.device)
        describe = model.describe() if hasattr(model, "describe") else {"name": rec.name}
        meta = {
            "recognizer": weights_record(describe),
            "spec": rec.config(),
            "images": images_tag,
            "n_images": len(images),
            "wall_time_s": round(time.perf_counter() - t0, 3),
            "device": self.device,
            "created": now_iso(),
        }
        _save_npz(path, embeddings=embeddings, keys=np.array(self.faceset.keys))
        atomic_write_json(meta_path, meta)
        meta = meta | {"cached": False}
        self._embeddings[memo] = (embeddings, meta)
        return embeddings, meta
