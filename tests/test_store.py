"""The results store and the runners: resume without rework, recompute exactly one deleted cell, atomic files,
complete provenance — measured on real faces with real recognizers, counting every computation."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import baselines
import nullswap.recognizers
from benchmarks.execute import run
from benchmarks.plan import plan, protector_specs
from benchmarks.specs import ProtectorSpec, RecognizerSpec
from benchmarks.store import CellKey, CellOutput, ResultStore, atomic_write_text, config_hash
from benchmarks.table5 import run_table5
from benchmarks.workspace import Components
from nullswap.data.base import FaceSet
from tests.sample_subsets import balanced_sample_views


@pytest.fixture(scope="module")
def faces() -> FaceSet:
    """12 real aligned faces of the offline sample set: three identities, four images each."""
    return balanced_sample_views(identities=3, per_identity=4)


class CountingProtector:
    """Delegates to a real protector and counts the images it protects."""

    def __init__(self, inner: Any, counts: Counter) -> None:
        self.inner, self.counts = inner, counts

    def protect(self, images: torch.Tensor) -> torch.Tensor:
        self.counts["protected_images"] += len(images)
        return self.inner.protect(images)

    def describe(self) -> dict[str, object]:
        return self.inner.describe()


class CountingRecognizer(torch.nn.Module):
    """Delegates to a real recognizer and counts the images it embeds."""

    def __init__(self, inner: torch.nn.Module, counts: Counter) -> None:
        super().__init__()
        self.inner, self.counts = inner, counts

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        self.counts[f"embedded_{self.inner.name}"] += len(faces)
        return self.inner(faces)

    def describe(self) -> dict[str, object]:
        return self.inner.describe()


def counting_components(faces: FaceSet, counts: Counter) -> Components:
    def load_dataset(cfg: dict) -> FaceSet:
        counts["dataset_loads"] += 1
        return faces

    def build_protector(spec: ProtectorSpec, device: str | None = None) -> CountingProtector:
        counts[f"build_{spec.name}"] += 1
        return CountingProtector(baselines.load(spec.registry or spec.name, **spec.options), counts)

    def build_recognizer(spec: RecognizerSpec, device: str) -> CountingRecognizer:
        counts[f"build_{spec.name}"] += 1
        return CountingRecognizer(nullswap.recognizers.load(spec.name, device=device), counts)

    def build_perceptual(name: str) -> torch.nn.Module:
        raise AssertionError("these tests measure no perceptual distance")

    return Components(load_dataset, build_protector, build_recognizer, build_perceptual)


def table2_config(root: Path, **changes: Any) -> dict[str, Any]:
    config = {
        "table": "table2",
        "experiment": "exp",
        "output_root": str(root),
        "dataset": {"name": "sample", "split": "test", "views": True, "root": None, "max_images": None},
        "protectors": ["clean", "noise"],
        "protector_options": {"noise": {"target_psnr": 35.0, "seed": 0}},
        "recognizers": ["sface-onnx", "mobilefacenet"],
        "identification": True,
        "visual": True,
        "perceptual": None,
        "seed": 0,
        "device": "cpu",
        "batch_size": 8,
        "build_tables": False,
        # the counts below are the cells' own embeddings; the recognizer sanity gate (tests/test_sanity.py)
        # would add its bundled faces to them
        "sanity_gate": False,
    }
    config.update(changes)
    return config


@pytest.fixture(scope="module")
def finished(faces: FaceSet, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Counter, Any]:
    """Table 2 (clean + noise × sface + dlib, plus noise's visual cell) computed once."""
    counts: Counter = Counter()
    config = table2_config(tmp_path_factory.mktemp("store"))
    report = run(config, components=counting_components(faces, counts))
    return config, counts, report


def _files(root: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted((root / "cells").rglob("*.json"))}


def test_a_first_run_computes_every_cell_once(finished: tuple, faces: FaceSet) -> None:
    _, counts, report = finished
    assert len(report.computed) == 5 and not report.skipped  # 2 × 2 identification + 1 visual
    assert counts["protected_images"] == len(faces)  # noise protected each face once
    # each recognizer embedded the clean set once and the noise set once; clean is never re-embedded
    assert counts["embedded_sface-onnx"] == counts["embedded_mobilefacenet"] == 2 * len(faces)
    assert counts["build_noise"] == counts["build_sface-onnx"] == counts["build_mobilefacenet"] == 1
    assert counts["dataset_loads"] == 1


def test_rerunning_a_finished_table_does_no_work(finished: tuple, faces: FaceSet) -> None:
    config, _, first = finished
    before = _files(first.experiment)
    counts: Counter = Counter()
    report = run(config, components=counting_components(faces, counts))
    assert report.computed == [] and sorted(map(str, report.skipped)) == sorted(map(str, first.computed))
    assert sum(counts.values()) == 0, f"a finished table did work: {dict(counts)}"
    assert _files(first.experiment) == before


def test_deleting_one_cell_recomputes_only_that_cell(finished: tuple, faces: FaceSet) -> None:
    config, _, first = finished
    store = ResultStore(first.experiment)
    target = next(k for k in first.computed if (k.protector, k.evaluator) == ("noise", "sface-onnx"))
    old = store.read(target)
    store.path(target).unlink()
    before = _files(first.experiment)
    counts: Counter = Counter()
    report = run(config, components=counting_components(faces, counts))
    assert report.computed == [target]
    # protected images and embeddings come from the experiment cache: no model is even built
    assert counts["protected_images"] == 0 and counts["build_sface-onnx"] == 0 and counts["build_noise"] == 0
    after = _files(first.experiment)
    assert {p: v for p, v in after.items() if p != store.path(target)} == before
    new = store.read(target)
    assert new["values"] == old["values"] and new["per_image"] == old["per_image"]
    assert new["provenance"]["inputs"] == {
        "clean_embeddings_cached": True,
        "protected_embeddings_cached": True,
    }


def test_a_lost_cache_is_rebuilt_for_the_deleted_cell_only(finished: tuple, faces: FaceSet) -> None:
    import shutil

    config, _, first = finished
    store = ResultStore(first.experiment)
    target = next(k for k in first.computed if (k.protector, k.evaluator) == ("noise", "mobilefacenet"))
    old = store.read(target)
    shutil.rmtree(first.experiment / "cache")
    store.path(target).unlink()
    counts: Counter = Counter()
    report = run(config, components=counting_components(faces, counts))
    assert report.computed == [target]
    assert counts["protected_images"] == len(faces)  # noise ran again, for this cell
    assert counts["embedded_mobilefacenet"] == 2 * len(faces) and counts["build_sface-onnx"] == 0
    # the seeded protector reproduces the same images, hence the same numbers
    assert store.read(target)["values"] == old["values"]


def test_cells_record_their_provenance(finished: tuple, faces: FaceSet) -> None:
    _, _, report = finished
    store = ResultStore(report.experiment)
    key = next(k for k in report.computed if (k.protector, k.evaluator) == ("noise", "sface-onnx"))
    cell = store.read(key)
    assert (
        store.path(key).name == f"seed0-{key.config_hash}.json"
        and config_hash(cell["config"]) == key.config_hash
    )
    assert cell["schema"] == 1 and cell["kind"] == "identification"
    assert set(cell["values"]) >= {"top1", "top5", "verified_rate", "same_image_cosine"}
    assert cell["counts"]["images"] == len(faces) and cell["counts"]["probes"] == len(faces)
    prov = cell["provenance"]
    assert set(prov["git"]) == {"commit", "dirty"}
    assert prov["packages"]["torch"] == torch.__version__.split("+")[0]
    for name in ("onnxruntime", "scikit-image", "lpips", "facenet-pytorch", "deepface", "insightface"):
        assert name in prov["packages"]
    assert prov["hostname"] and prov["python"] and prov["wall_time_s"] >= 0
    assert prov["started"] <= prov["finished"]
    assert prov["recognizer"]["weights"] == {
        "sface_int8bq": "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
    }
    assert prov["thresholds"] == {"sface-onnx": pytest.approx(0.363)}
    assert prov["protector"]["name"] == "noise"
    assert len(prov["dataset"]["fingerprint"]) == 16 and prov["dataset"]["n_images"] == len(faces)
    assert prov["run_config"]["table"] == "table2"
    assert any("views" in note for note in cell["notes"])


def test_a_failed_computation_leaves_no_file(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    config = {"kind": "visual", "x": 1}
    key = CellKey("table1", "sample", "noise", "visual", 0, config_hash(config))

    def broken() -> CellOutput:
        raise RuntimeError("crashed half way")

    with pytest.raises(RuntimeError):
        store.ensure(key, config, broken)
    assert not store.exists(key) and all(p.is_dir() for p in tmp_path.rglob("*"))
    record, computed = store.ensure(key, config, lambda: CellOutput("visual", {"psnr": 40.0}))
    assert computed and record["values"] == {"psnr": 40.0}
    with pytest.raises(ValueError, match="another configuration"):
        store.ensure(key, {"kind": "visual", "x": 2}, broken)


def test_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cell.json"
    atomic_write_text(path, "old")

    def fail(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["cell.json"]


def test_the_cell_key_ignores_how_but_not_what_is_measured(tmp_path: Path) -> None:
    base = table2_config(tmp_path)
    keys = {j.key for j in plan(base, protector_specs(base))}
    same = table2_config(tmp_path, device="cuda", batch_size=64, build_tables=True)
    assert {j.key for j in plan(same, protector_specs(same))} == keys
    stronger = table2_config(tmp_path, protector_options={"noise": {"target_psnr": 30.0, "seed": 0}})
    changed = {j.key for j in plan(stronger, protector_specs(stronger))} - keys
    assert changed and all(k.protector == "noise" for k in changed)
    only = table2_config(tmp_path, only={"protector": "noise", "recognizer": "mobilefacenet"})
    assert [(k.key.protector, k.key.evaluator) for k in plan(only, protector_specs(only))] == [
        ("noise", "mobilefacenet")
    ]


class CheckpointScaledNoise:
    """Test double for a trained generator: reads a strength from its checkpoint file and adds seeded noise."""

    name, threat_model, kind = "nullswap", "black-box", "generator"

    def __init__(self, checkpoint: str, seed: int = 0) -> None:
        self.strength = json.loads(Path(checkpoint).read_text())["strength"]
        self.seed = seed

    def protect(self, images: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(self.seed))
        return (images + self.strength * noise).clamp(0, 1)

    def describe(self) -> dict[str, object]:
        return {"name": "nullswap", "strength": self.strength}


def test_table5_trains_each_session_once_and_skips_existing_checkpoints(
    faces: FaceSet, tmp_path: Path
) -> None:
    trained: list[list[str]] = []

    def train(overrides: list[str]) -> Path:
        trained.append(overrides)
        run_dir = Path(next(o for o in overrides if o.startswith("run_dir="))[len("run_dir=") :])
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "checkpoint.json").write_text(json.dumps({"strength": 0.01 * len(trained)}))
        return run_dir / "checkpoint.json"

    counts: Counter = Counter()
    components = counting_components(faces, counts)
    components.build_protector = lambda spec, device=None: CheckpointScaledNoise(**spec.options)
    config = table2_config(
        tmp_path,
        table="table5",
        protectors=["session1", "session2", "session3", "dlw"],
        recognizers=["mobilefacenet"],
        protector_options={},
        train={"recognizers": ["dlib", "sface"], "overrides": [], "steps": 5, "extra": [], "checkpoints": {}},
    )
    first = run_table5(config, components=components, train_fn=train)
    assert len(first.computed) == 8 and len(trained) == 4
    by_session = {o[-1].split("/")[-1]: o for o in trained}
    assert "recognizers=[dlib]" in by_session["session1"] and "dlw.strategy=single" in by_session["session1"]
    assert "recognizers=[sface]" in by_session["session2"]
    assert "dlw.strategy=mean" in by_session["session3"] and "dlw.strategy=dlw" in by_session["dlw"]
    assert all("train.steps=5" in o and "seed=0" in o for o in trained)

    again = run_table5(config, components=components, train_fn=train)
    assert again.computed == [] and len(trained) == 4

    store = ResultStore(first.experiment)
    for key in first.computed:
        if key.protector == "dlw":
            store.path(key).unlink()
    import shutil

    shutil.rmtree(first.experiment / "cache")
    third = run_table5(config, components=components, train_fn=train)
    assert sorted(k.protector for k in third.computed) == ["dlw", "dlw"]
    assert len(trained) == 4, "a session whose checkpoint exists was trained again"
    values = [store.read(k)["values"] for k in third.computed]
    assert all(np.isfinite(v.get("top1", v.get("psnr"))) for v in values)
