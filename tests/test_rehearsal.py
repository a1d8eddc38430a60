"""``make rehearse-paper``: the paper's setting on stand-ins, every table headed as a rehearsal.

The full rehearsal (minutes) is marked ``slow``; the layouts it writes are checked here against the real
loaders on the sample faces (seconds)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks.rehearsal import layouts
from nullswap.data import load_celebahq, load_lfw
from nullswap.provenance import REPO_ROOT
from nullswap.standin import REHEARSAL_HEADER


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path / "home"))


def test_the_celebahq_layout_has_whole_identities_per_split_and_is_read_by_the_real_loader(tmp_path, sample_all):
    splits = layouts.choose_splits(sample_all, test_images=9, val_images=4, train_images=8)
    counts = layouts.write_celebahq(tmp_path / "celebahq", sample_all, splits)
    ids = {split: {sample_all.identities[i] for i in splits[split]} for split in splits}
    assert not ids["test"] & ids["train"] and not ids["test"] & ids["val"] and not ids["val"] & ids["train"]
    test = load_celebahq(tmp_path / "celebahq", "test", progress=False)
    assert len(test) == counts.images["test"] == 9 and len(set(test.identities)) == counts.identities["test"]
    assert min(list(test.identities).count(i) for i in set(test.identities)) >= 2, "every test identity has a probe"
    assert len(load_celebahq(tmp_path / "celebahq", "train", progress=False)) == 8


def test_the_lfw_layout_is_read_by_the_real_loader(tmp_path, sample_all):
    counts = layouts.write_lfw(tmp_path / "lfw", sample_all, images=10, per_person=3)
    faces = load_lfw(tmp_path / "lfw", "all", progress=False)
    assert counts.images["all"] == 10 and len(faces) >= 9  # LFW's loader re-detects every face


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_make_rehearse_paper_heads_every_table_as_a_rehearsal_and_writes_nothing_under_results():
    result = subprocess.run([sys.executable, "-m", "benchmarks.rehearsal.paper", "--no-slurm"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = result.stdout
    assert out.count(f"\n{REHEARSAL_HEADER} (") >= 5  # Tables 1, 2, 4, 5 and the val-split Table 2
    assert "session session1: resuming its interrupted training" in out
    assert "CelebA-HQ (val split)" in out
    assert "does not tell real people apart" in out and "reads stand-in weights" in out
    assert "rehearsal passed" in out
