"""Training: losses logged per step, atomic checkpoints, and exact resumption."""

from __future__ import annotations

import csv

import pytest
import torch

import nullswap.train as train_module
from nullswap.data.base import FaceSet
from nullswap.images import to_uint8

TINY = [
    "model.width=16", "model.id_blocks=1", "model.perturbation_blocks=1", "model.feature_blocks=1",
    "model.disc_width=8", "model.disc_layers=2",
    "recognizers=[dlib]", "eval_recognizers=[]",
    "train.batch_size=2", "train.resolution=64", "train.eval_faces=2", "train.tensorboard=false",
    "train.progress=false", "loss.perceptual=stlpips-alex", "threads=1",
]


@pytest.fixture
def real_face_sets(canonical_faces, monkeypatch):
    """Train on six real faces, hold out two; the data config is bypassed."""
    names = sorted(canonical_faces)
    crops = to_uint8(torch.stack([canonical_faces[n] for n in names]))
    faces = FaceSet("real-test-faces", crops, names, names)
    monkeypatch.setattr(train_module, "load_faces",
                        lambda cfg, split: faces.subset(range(6)) if split == "train" else faces.subset([6, 7]))
    return faces


def run(tmp_path, name, *extra):
    cfg = train_module.compose([*TINY, f"run_dir={tmp_path / name}", *extra])
    return train_module.train(cfg)


def test_an_interrupted_run_resumed_reaches_the_same_weights_as_an_uninterrupted_one(real_face_sets, tmp_path):
    full = run(tmp_path, "full", "train.steps=4", "train.checkpoint_every=4", "train.eval_every=0")
    run(tmp_path, "split", "train.steps=2", "train.checkpoint_every=2", "train.eval_every=0")
    resumed = run(tmp_path, "split", "train.steps=4", "train.checkpoint_every=2", "train.eval_every=0",
                  "resume=true")
    a = torch.load(full, weights_only=True)
    b = torch.load(resumed, weights_only=True)
    assert a["step"] == b["step"] == 4
    for key, tensor in a["generator"].items():
        assert torch.equal(tensor, b["generator"][key]), key
    for key, tensor in a["discriminator"].items():
        assert torch.equal(tensor, b["discriminator"][key]), key
    assert a["dlw"] == b["dlw"]
    with open(tmp_path / "split" / "train_log.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert steps == [1, 2, 3, 4]


def test_every_loss_and_dlw_weight_is_logged_each_step(real_face_sets, tmp_path):
    run(tmp_path, "log", "recognizers=[dlib,sface]", "train.steps=2", "train.checkpoint_every=2",
        "train.eval_every=2")
    with open(tmp_path / "log" / "train_log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    for column in ("loss_total", "loss_id", "loss_mse", "loss_lpips", "loss_adv", "loss_disc", "batch_psnr",
                   "id_cos/dlib", "id_cos/sface", "dlw_weight/dlib", "dlw_weight/sface"):
        assert rows[-1][column] != "", column
    weights = [float(rows[-1]["dlw_weight/dlib"]), float(rows[-1]["dlw_weight/sface"])]
    assert sum(weights) == pytest.approx(2.0)
    with open(tmp_path / "log" / "eval_log.csv") as handle:
        evals = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in evals] == [0, 2]


def test_checkpoints_hold_everything_needed_to_resume_and_load_without_pickle(real_face_sets, tmp_path):
    path = run(tmp_path, "ckpt", "train.steps=1", "train.checkpoint_every=1", "train.eval_every=0")
    state = torch.load(path, weights_only=True)
    for key in ("generator", "discriminator", "opt_g", "opt_d", "scaler", "dlw", "rng", "step", "config"):
        assert key in state
    assert not list(path.parent.glob("*.part"))


def test_resume_refuses_a_checkpoint_trained_against_other_recognizers(real_face_sets, tmp_path):
    run(tmp_path, "mismatch", "train.steps=1", "train.checkpoint_every=1", "train.eval_every=0")
    with pytest.raises(ValueError, match="trained against"):
        run(tmp_path, "mismatch", "recognizers=[sface]", "train.steps=2", "resume=true")


def test_resume_without_a_checkpoint_is_a_clear_error(real_face_sets, tmp_path):
    with pytest.raises(FileNotFoundError, match="resume=true"):
        run(tmp_path, "empty", "train.steps=1", "resume=true")


def test_clean_embeddings_are_computed_once_per_face_and_flip_and_match_the_batched_ones(canonical_faces):
    from nullswap import recognizers
    from nullswap.dlw import LossWeighting
    from nullswap.losses import LossConfig, NullSwapObjective

    dlib = recognizers.load("dlib")
    calls: list[int] = []
    dlib.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    objective = NullSwapObjective([dlib], LossWeighting(1), LossConfig(), None)
    objective.enable_clean_cache()
    names = sorted(canonical_faces)[:3]
    batch = torch.stack([canonical_faces[n] for n in names])
    keys = [(0, False), (1, False), (2, False)]

    (first,) = objective.clean_embeddings(batch, keys)
    assert calls == [1, 1, 1]  # each face alone, so the numbers never depend on its batch-mates
    (again,) = objective.clean_embeddings(batch.flip(0), keys[::-1])
    assert calls == [1, 1, 1]  # all three came from the cache
    assert torch.equal(again, first.flip(0))
    with torch.no_grad():
        batched = dlib(batch)
    assert torch.allclose(first, batched, atol=1e-5)


def test_the_clean_embedding_cache_is_on_for_small_training_sets_only():
    assert train_module.clean_cache_enabled("auto", 519)
    assert not train_module.clean_cache_enabled("auto", 24_000)
    assert train_module.clean_cache_enabled(True, 24_000) and not train_module.clean_cache_enabled(False, 5)
    with pytest.raises(ValueError, match="true, false or auto"):
        train_module.clean_cache_enabled("sometimes", 5)


# --------------------------------------------------------------------------------------------------
# The run's length, held-out evaluation and what a checkpoint records
# --------------------------------------------------------------------------------------------------
def test_steps_given_beside_the_paper_epochs_are_refused_with_the_fix_not_ignored():
    paper = train_module.compose(["experiment=paper", "train.steps=3"])
    with pytest.raises(ValueError, match=r"train.steps=3 and train.epochs=60 are both set.*train.epochs=null"):
        train_module.train(paper)  # refused before any data set or model is loaded
    by_steps = train_module.compose(["experiment=paper", "train.epochs=null", "train.steps=3"])
    assert train_module.planned_steps(by_steps.train, 94) == 3
    assert train_module.planned_steps(train_module.compose(["experiment=paper"]).train, 94) == 60 * 94


def test_the_paper_setting_evaluates_during_training_on_val_not_on_the_test_split_the_tables_report():
    assert train_module.compose(["experiment=paper"]).train.eval_split == "val"


def test_evaluation_recognizers_are_loaded_once_per_run(real_face_sets, tmp_path, monkeypatch):
    loads: list[str] = []
    real_load = train_module.recognizer_registry.load

    def counting(name, **kwargs):
        loads.append(name)
        return real_load(name, **kwargs)

    monkeypatch.setattr(train_module.recognizer_registry, "load", counting)
    run(tmp_path, "evals", "eval_recognizers=[mobilefacenet]", "train.steps=3", "train.checkpoint_every=3",
        "train.eval_every=1")
    with open(tmp_path / "evals" / "eval_log.csv") as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [0, 1, 2, 3]
    assert loads.count("mobilefacenet") == 1 and loads.count("dlib") == 1


def test_a_checkpoint_records_its_training_data_length_and_weight_files(real_face_sets, tmp_path):
    from nullswap.checkpoint import training_facts

    path = run(tmp_path, "facts", "train.steps=2", "train.checkpoint_every=2", "train.eval_every=0")
    facts = training_facts(path)
    assert facts["recognizers"] == ["dlib"] and facts["steps"] == facts["steps_planned"] == 2
    assert facts["data"]["n_images"] == 6 and facts["data"]["split"] == "train"
    assert facts["weight_files"]["dlib"]["dlib_resnet"]["status"] == "sha256 ok"
    assert facts["perceptual"] == "stlpips-alex" and not facts["rehearsal"]


def test_training_refuses_stand_in_weights_unless_it_is_a_rehearsal(real_face_sets, tmp_path, monkeypatch):
    from nullswap import standin, weights

    stand_in = tmp_path / "dlib_face_recognition_resnet_model_v1.dat"
    stand_in.write_bytes(weights.status("dlib_resnet").path.read_bytes())  # the real file, marked as a stand-in
    standin.mark(stand_in)
    monkeypatch.setenv("NULLSWAP_WEIGHT_DLIB_RESNET", str(stand_in))
    with pytest.raises(standin.StandInRefused, match="training would use stand-in weights"):
        run(tmp_path, "refused", "train.steps=1")
    path = run(tmp_path, "rehearsal", "train.steps=1", "train.checkpoint_every=1", "train.eval_every=0",
               "rehearsal=true")
    from nullswap.checkpoint import training_facts

    facts = training_facts(path)
    assert facts["rehearsal"] and standin.reasons(facts["weight_files"]) == [f"{stand_in}: {standin.RANDOM_WEIGHTS}"]
