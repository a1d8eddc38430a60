"""Table 5's sessions train what the table asks for: its steps, on its data set folder, and an interrupted
session continues from its last checkpoint instead of starting over (and never overwrites another's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.errors import BenchmarkError
from benchmarks.table5 import SessionTrainer, session_specs
from nullswap.train import compose, planned_steps


def table5_config(**train: object) -> dict:
    return {
        "table": "table5",
        "seed": 0,
        "dataset": {"name": "celebahq", "split": "test", "root": "/data/celebahq"},
        "protectors": ["session1", "session2", "session3", "dlw"],
        "protector_options": {},
        "train": {"recognizers": ["arcface", "facenet"], "overrides": ["experiment=paper"], "data": "celebahq",
                  "steps": None, "extra": [], "checkpoints": {}, **train},
    }


def test_the_steps_shortcut_trains_that_many_steps_in_the_paper_setting_and_gets_the_data_root():
    spec = session_specs(table5_config(steps=3))[0]
    assert spec.options["root"] == "/data/celebahq"
    overrides = [*spec.options["train_overrides"], f"data.root={spec.options['root']}"]
    cfg = compose(overrides)  # exactly what SessionTrainer hands nullswap.train
    assert planned_steps(cfg.train, 94) == 3
    assert cfg.data.name == "celebahq" and cfg.data.root == "/data/celebahq"
    assert list(cfg.recognizers) == ["arcface"] and cfg.dlw.strategy == "single"


def test_the_data_root_stays_out_of_the_cell_hash():
    moved = table5_config()
    moved["dataset"] = {**moved["dataset"], "root": "/elsewhere/celebahq"}
    here, there = session_specs(table5_config())[3], session_specs(moved)[3]
    assert here.options["root"] != there.options["root"] and here.tag == there.tag


class Interrupted(Exception):
    pass


def test_an_interrupted_session_resumes_from_its_checkpoint_and_is_not_restarted(tmp_path: Path):
    calls: list[list[str]] = []

    def train(overrides: list[str]) -> Path:
        calls.append(overrides)
        run_dir = Path(next(o for o in overrides if o.startswith("run_dir="))[len("run_dir="):])
        last = run_dir / "checkpoints" / "last.pt"
        last.parent.mkdir(parents=True, exist_ok=True)
        if len(calls) == 1:
            last.write_text("step 15")  # the periodic checkpoint, then the job is killed
            raise Interrupted
        assert last.read_text() == "step 15", "the interrupted session's checkpoint was overwritten"
        last.write_text("step 30")
        return last

    spec = session_specs(table5_config(steps=30))[0]
    trainer = SessionTrainer(tmp_path, train, rehearsal=True)
    with pytest.raises(Interrupted):
        trainer.checkpoint(spec)
    assert json.loads((tmp_path / "sessions" / "session1" / "session.json").read_text())["checkpoint"] is None
    path = trainer.checkpoint(spec)
    assert "resume=true" not in calls[0] and "resume=true" in calls[1]
    assert "rehearsal=true" in calls[1] and "data.root=/data/celebahq" in calls[1]
    assert path.read_text() == "step 30"
    assert trainer.checkpoint(spec) == path and len(calls) == 2, "a finished session was trained again"


def test_a_session_folder_of_another_training_is_never_overwritten(tmp_path: Path):
    def train(overrides: list[str]) -> Path:
        raise AssertionError("must not train")

    last = tmp_path / "sessions" / "session1" / "checkpoints" / "last.pt"
    last.parent.mkdir(parents=True)
    last.write_text("someone else's")
    (last.parent.parent / "session.json").write_text(json.dumps({"overrides": ["train.steps=999"]}))
    with pytest.raises(BenchmarkError, match="trained with other overrides"):
        SessionTrainer(tmp_path, train).checkpoint(session_specs(table5_config(steps=30))[0])
    assert last.read_text() == "someone else's"
