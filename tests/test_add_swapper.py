"""Adding a swapper is one module: the example in docs/adding-a-swapper.md, as written.

The guide's module is placed in a folder appended to the ``swappers`` package path (so the registry
discovers it exactly as it discovers a file in ``swappers/``); it is then listed, built by the Table 3
runner's own builder, planned as a Table 3 row and run on real faces.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch

import swappers
from benchmarks import table3

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "adding-a-swapper.md"
NAME = "paste_guide_example"  # renamed from the guide's "paste" so that a real swappers/paste.py cannot clash


def guide_block(marker: str, language: str) -> str:
    text = GUIDE.read_text()
    match = re.search(rf"<!-- example: {marker} -->\s*```{language}\n(.*?)```", text, re.S)
    assert match, f"docs/adding-a-swapper.md lost its '{marker}' example"
    return match.group(1).replace('"paste"', f'"{NAME}"')


@pytest.fixture
def added_swapper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The guide's module as one more file of the ``swappers`` package; the registry is restored afterwards."""
    package_dir = tmp_path / "extra_swappers"
    package_dir.mkdir()
    (package_dir / f"{NAME}.py").write_text(guide_block("module", "python"))
    swappers.available()  # register every shipped adapter first, so the restored registry is complete
    monkeypatch.setattr(swappers, "__path__", [*swappers.__path__, str(package_dir)])
    monkeypatch.setattr(swappers.REGISTRY, "factories", dict(swappers.REGISTRY.factories))
    yield NAME
    sys.modules.pop(f"swappers.{NAME}", None)


def test_a_new_module_is_listed_by_the_registry(added_swapper: str):
    assert added_swapper in swappers.available()
    assert {"landmark", "simswap", "diffswap"} <= set(swappers.available())


def test_a_new_swapper_runs_through_the_table3_builder_on_real_faces(added_swapper: str, canonical_faces):
    spec = table3.SwapperSpec(added_swapper, {"width": 0.25})
    swapper = table3.default_build_swapper(spec)
    assert swapper.describe()["width"] == 0.25 and "classical" in swapper.describe()["kind"]
    sources = torch.stack([canonical_faces["obama"], canonical_faces["t1_0"]])
    targets = torch.stack([canonical_faces["biden"], canonical_faces["obama2"]])
    result = swapper.swap(sources, targets)
    assert result.status == ["ok", "ok"] and result.images.shape == targets.shape
    centre = (slice(None), slice(None), slice(120, 160), slice(108, 148))
    corner = (slice(None), slice(None), slice(0, 24), slice(0, 24))
    assert (result.images[centre] - targets[centre]).abs().mean() > 0.02  # the face changed ...
    assert torch.allclose(result.images[corner], targets[corner], atol=1 / 255)  # ... the frame did not


def test_a_new_swapper_is_a_table3_row(added_swapper: str, tmp_path: Path):
    cfg = {
        "experiment": "x",
        "output_root": str(tmp_path),
        "dataset": {"name": "sample", "split": "test"},
        "protectors": ["clean"],
        "swappers": ["landmark", added_swapper],
        "recognizers": ["dlib"],
        "pairs": {"n": 4, "seed": 0},
    }
    table3.validate(cfg, check_registries=True)
    rows = [job.swapper.name for job in table3.plan(cfg, table3.protector_specs(cfg))]
    assert rows == ["landmark", added_swapper]
