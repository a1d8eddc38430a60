"""The in-process protectors on real, aligned faces: clean, noise, pgd and cmua.

Faces come from the shared ``canonical_faces`` fixture (registry photos, MTCNN landmarks, warped to the
canonical 256 frame) and are rounded to the uint8 grid, as if read back from PNG files.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import baselines
from baselines._external import ExternalProtector
from baselines.cmua import load_perturbation
from nullswap.images import psnr, to_uint8
from nullswap.weights import MissingWeightsError

CONF_DIR = Path(__file__).resolve().parent.parent / "nullswap" / "conf" / "protector"


@pytest.fixture(scope="module")
def faces(canonical_faces: dict[str, torch.Tensor]) -> torch.Tensor:
    """Four real people in the canonical frame, on the uint8 grid."""
    batch = torch.stack([canonical_faces[k] for k in ("obama", "biden", "t1_0", "t1_3")])
    return torch.round(batch * 255.0) / 255.0


def linf_255(clean: torch.Tensor, protected: torch.Tensor) -> int:
    return int(np.abs(to_uint8(clean).astype(int) - to_uint8(protected).astype(int)).max())


def recognizer_or_skip(name: str):
    from nullswap import recognizers

    try:
        names = recognizers.available()
    except ImportError as exc:
        pytest.skip(f"the recognizer registry does not import: {exc}")
    if name not in names:
        pytest.skip(f"recognizer '{name}' is not available in this checkout")
    try:
        return recognizers.load(name)
    except MissingWeightsError as exc:
        pytest.skip(f"recognizer '{name}' weights are missing: {exc}")


# ---- clean -----------------------------------------------------------------------------------------
def test_clean_returns_the_faces_unchanged(faces: torch.Tensor):
    protector = baselines.load("clean")
    out = protector.protect(faces)
    assert torch.equal(out, faces) and out.data_ptr() != faces.data_ptr()
    assert protector.threat_model == "none"


# ---- noise -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("distribution", ["gaussian", "uniform"])
@pytest.mark.parametrize("target", [35.0, 41.31])
def test_noise_hits_its_target_psnr_on_every_face_after_uint8_rounding(
    faces: torch.Tensor, distribution: str, target: float
):
    protector = baselines.load("noise", target_psnr=target, distribution=distribution, seed=3)
    out = protector.protect(faces)
    clean_u8, out_u8 = to_uint8(faces), to_uint8(out)
    assert torch.equal(out, torch.round(out * 255) / 255)  # on the grid: exactly what a PNG stores
    for a, b in zip(clean_u8, out_u8):
        assert abs(psnr(a, b) - target) <= 0.05
    assert [round(r["psnr"], 6) for r in protector.last_stats] == [
        round(psnr(a, b), 6) for a, b in zip(clean_u8, out_u8)
    ]


def test_noise_is_deterministic_for_a_seed_and_differs_across_seeds(faces: torch.Tensor):
    one = baselines.load("noise", target_psnr=38.0, seed=1).protect(faces[:2])
    again = baselines.load("noise", target_psnr=38.0, seed=1).protect(faces[:2])
    other = baselines.load("noise", target_psnr=38.0, seed=2).protect(faces[:2])
    assert torch.equal(one, again) and not torch.equal(one, other)


def test_noise_rejects_options_that_make_no_sense():
    with pytest.raises(ValueError, match="distribution"):
        baselines.load("noise", distribution="laplace")
    with pytest.raises(ValueError, match="target_psnr"):
        baselines.load("noise", target_psnr=200.0)


# ---- pgd -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("recognizer", "steps"), [pytest.param("sface", 3, marks=pytest.mark.slow), ("dlib", 5)]
)
def test_pgd_stays_within_its_budget_and_lowers_the_cosine_it_attacks(
    faces: torch.Tensor, recognizer: str, steps: int
):
    model = recognizer_or_skip(recognizer)
    clean = faces[:2]
    protector = baselines.load("pgd", eps=4, recognizers=[model], steps=steps, seed=0, progress=False)
    out = protector.protect(clean)
    assert linf_255(clean, out) <= 4
    assert max(r["linf_255"] for r in protector.last_stats) <= 4
    # control: random signs at the same L∞ budget
    signs = torch.randint(0, 2, clean.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    control = (clean + signs * 4 / 255).clamp(0, 1)
    with torch.no_grad():
        reference = model(clean)
        attacked = torch.nn.functional.cosine_similarity(reference, model(out), dim=-1)
        random = torch.nn.functional.cosine_similarity(reference, model(control), dim=-1)
    assert (attacked < random - 0.05).all(), (
        f"{recognizer}: pgd {attacked.tolist()} vs random {random.tolist()}"
    )
    assert (attacked < 0.9).all()


def test_pgd_is_deterministic_for_a_seed(faces: torch.Tensor):
    model = recognizer_or_skip("dlib")
    runs = [
        baselines.load("pgd", eps=2, recognizers=[model], steps=2, seed=7, progress=False).protect(faces[:1])
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])


def test_pgd_refuses_a_black_box_recognizer():
    recognizer_or_skip("mobilefacenet")
    with pytest.raises(ValueError, match="black-box"):
        baselines.load("pgd", recognizers=["mobilefacenet"])


def test_pgd_rejects_a_budget_in_the_wrong_units():
    with pytest.raises(ValueError, match="/255 units"):
        baselines.load("pgd", eps=0.0, recognizers=[])


# ---- cmua ------------------------------------------------------------------------------------------
def test_cmua_with_a_test_made_perturbation_adds_it_within_its_budget(faces: torch.Tensor, tmp_path: Path):
    """The published perturbation.pt is Baidu-only; this test makes a tensor of the same shape, units
    and budget (3×256×256, [-1, 1], |up| ≤ 0.05) and checks that the adapter applies it faithfully."""
    generator = torch.Generator().manual_seed(0)
    pattern = (torch.rand(3, 256, 256, generator=generator) * 2 - 1) * 0.05
    path = tmp_path / "perturbation.pt"
    torch.save(pattern[None], path)  # CMUA keeps a leading batch axis in some versions
    protector = baselines.load("cmua", perturbation_path=path)
    out = protector.protect(faces)
    assert protector.linf == pytest.approx(float(pattern.abs().max()) / 2)
    assert linf_255(faces, out) <= 6  # 0.05 in [-1, 1] units is 6.375/255; rounding cannot exceed 6
    unclipped = ((faces + pattern / 2) > 0) & ((faces + pattern / 2) < 1)
    realised = (out - faces)[unclipped]
    assert torch.allclose(realised, (pattern / 2).expand_as(faces)[unclipped], atol=0.5 / 255 + 1e-6)
    assert protector.describe()["linf_255"] == pytest.approx(protector.linf * 255)


def test_cmua_without_its_file_says_where_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError) as caught:
        baselines.load("cmua")
    message = str(caught.value)
    assert str(tmp_path / "weights" / "cmua" / "perturbation.pt") in message
    assert "pan.baidu.com" in message and "perturbation_path" in message


def test_cmua_refuses_a_file_that_needs_code_to_unpickle(tmp_path: Path):
    path = tmp_path / "perturbation.pt"
    torch.save({"up": torch.zeros(3, 256, 256), "hook": os.getcwd}, path)
    with pytest.raises(MissingWeightsError, match="load error"):
        load_perturbation(path)


def test_cmua_refuses_a_tensor_of_the_wrong_shape(tmp_path: Path):
    path = tmp_path / "perturbation.pt"
    torch.save(torch.zeros(1, 256, 256), path)
    with pytest.raises(ValueError, match="3×H×W"):
        load_perturbation(path)


def test_cmua_config_names_the_path_the_adapter_loads_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from baselines.cmua import default_perturbation_path

    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    relative = default_perturbation_path().relative_to(tmp_path)
    assert f"$NULLSWAP_HOME/{relative}" in (CONF_DIR / "cmua.yaml").read_text()


# ---- registry and configs --------------------------------------------------------------------------
def _accepted_options(name: str) -> set[str]:
    factory = baselines.REGISTRY.get(name)
    accepted = set(inspect.signature(factory.__init__).parameters) - {"self", "driver_options"}
    if issubclass(factory, ExternalProtector):
        accepted |= set(factory.default_options)
        accepted.discard("kwargs")
    return accepted


@pytest.mark.parametrize("name", ["clean", "noise", "pgd", "cmua", "initiative", "antiforgery", "dfrap"])
def test_every_protector_has_a_config_whose_keys_its_class_accepts(name: str):
    assert name in baselines.available()
    config = yaml.safe_load((CONF_DIR / f"{name}.yaml").read_text())
    assert config["name"] == name
    unknown = set(config) - {"name"} - _accepted_options(name)
    assert not unknown, f"{name}.yaml has keys its class does not accept: {sorted(unknown)}"


@pytest.mark.parametrize("name", ["clean", "noise", "pgd", "cmua", "initiative", "antiforgery", "dfrap"])
def test_a_protector_config_holds_only_what_differs_from_its_class(name: str):
    """Defaults are written once, beside the class; the YAML overrides, it never repeats."""
    from baselines._config import declared_defaults

    config = yaml.safe_load((CONF_DIR / f"{name}.yaml").read_text())
    defaults = declared_defaults(name)
    repeated = sorted(k for k, v in config.items() if k != "name" and k in defaults
                      and json.dumps(v) == json.dumps(defaults[k]))
    assert not repeated, f"{name}.yaml repeats its class's defaults: {repeated}"


def test_declared_defaults_come_from_the_constructor_and_the_driver_options():
    from baselines._config import declared_defaults

    pgd = declared_defaults("pgd")
    assert pgd["eps"] == 4.0 and pgd["steps"] == 10 and list(pgd["recognizers"]) == ["dlib", "sface"]
    assert "seed" not in pgd and "device" not in pgd  # the runner's, not a column's
    initiative = declared_defaults("initiative")
    assert initiative["eps"] == 0.05 and initiative["checkpoint"].endswith("30000-PG-005.ckpt")
    assert declared_defaults("no-such-protector") == {}


def test_a_default_spelled_out_and_a_default_left_to_the_class_identify_the_same_cells():
    from benchmarks.specs import ProtectorSpec

    assert ProtectorSpec("pgd", {"eps": 4.0, "steps": 10}).tag == ProtectorSpec("pgd", {}).tag
    assert ProtectorSpec("pgd", {"eps": 8.0}).tag != ProtectorSpec("pgd", {}).tag
    # logging and placement never split cells
    assert ProtectorSpec("pgd", {"progress": False}).tag == ProtectorSpec("pgd", {}).tag
    assert ProtectorSpec("initiative", {"timeout": 10, "root": "/x"}).tag == ProtectorSpec("initiative", {}).tag


def test_a_column_can_be_a_second_configuration_of_a_registered_protector():
    from benchmarks.plan import protector_specs

    specs = protector_specs({"protectors": ["pgd", "pgd-strong"],
                             "protector_options": {"pgd-strong": {"registry": "pgd", "eps": 8.0}}})
    assert [(s.name, s.registry or s.name, s.options.get("eps")) for s in specs] == [
        ("pgd", "pgd", None), ("pgd-strong", "pgd", 8.0)]
    assert specs[1].config()["options"]["eps"] == 8.0 and "registry" not in specs[1].options


# ---- the contract the base class enforces ----------------------------------------------------------
class _Returns(baselines.Protector):
    """A protector whose ``forward`` hands back whatever it was told to (for the base class's checks)."""

    name = "returns"

    def __init__(self, make) -> None:
        self.make = make

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.make(images)


def test_protect_checks_input_and_output_and_records_the_distortion():
    images = torch.full((2, 3, 8, 8), 0.5)
    shifted = _Returns(lambda x: x + 2.0 / 255.0)
    out = shifted.protect(images)
    assert [round(r["linf_255"]) for r in shifted.last_stats] == [2, 2]
    assert torch.equal(out, images + 2.0 / 255.0)
    assert shifted.last_status == ["ok", "ok"] and shifted.last_messages == ["", ""]
    with pytest.raises(ValueError, match="RGB"):
        shifted.protect(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="returned"):
        _Returns(lambda x: x[:1]).protect(images)


def test_an_image_with_a_broken_output_fails_alone_and_comes_back_clean():
    images = torch.stack([torch.full((3, 8, 8), 0.25), torch.full((3, 8, 8), 0.5), torch.full((3, 8, 8), 0.75)])

    def broken(x: torch.Tensor) -> torch.Tensor:
        out = x + 1.0 / 255.0
        out[0, 0, 0, 0] = float("nan")
        out[2] = out[2] + 0.5  # leaves [0, 1]
        return out

    protector = _Returns(broken)
    out = protector.protect(images)
    assert protector.last_status == ["failed", "ok", "failed"]
    assert "1 NaN or infinite pixel values of 192" in protector.last_messages[0]
    assert "outside [0, 1]" in protector.last_messages[2] and protector.last_messages[1] == ""
    assert torch.equal(out[0], images[0]) and torch.equal(out[2], images[2])  # clean, so shapes hold
    assert torch.allclose(out[1], images[1] + 1.0 / 255.0)
    assert [row["status"] for row in protector.last_stats] == ["failed", "ok", "failed"]


class _Promises(_Returns):
    """A protector that promises an L∞ bound of 2/255 and keeps it on all images but the last."""

    def promised_linf(self) -> float:
        return 2.0 / 255.0


def test_an_image_whose_change_breaks_the_promised_bound_fails_with_the_numbers():
    images = torch.full((3, 3, 8, 8), 0.5)
    protector = _Promises(lambda x: x + torch.tensor([2.0, 1.0, 3.0]).view(3, 1, 1, 1) / 255.0)
    out = protector.protect(images)
    assert protector.last_status == ["ok", "ok", "failed"]
    assert "change 0.011765 (3.00/255) exceeds the 0.007843 (2.00/255) the method promises" in (
        protector.last_messages[2])
    assert torch.equal(out[2], images[2])


def test_an_image_forward_reports_failed_comes_back_clean_with_its_message():
    class Refuses(baselines.Protector):
        name = "refuses"

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            self.forward_failures[1] = "upstream raised: degenerate face"
            return (images + 1.0 / 255.0).clamp(0, 1)

    images = torch.full((2, 3, 8, 8), 0.5)
    protector = Refuses()
    out = protector.protect(images)
    assert protector.last_status == ["ok", "failed"]
    assert protector.last_messages[1] == "upstream raised: degenerate face"
    assert torch.equal(out[1], images[1])


def test_cmua_promises_its_budget_and_refuses_a_file_beyond_it(tmp_path: Path):
    path = tmp_path / "perturbation.pt"
    torch.save(torch.full((3, 256, 256), 0.06), path)
    with pytest.raises(ValueError, match=r"reaches 0\.0600 in \[-1, 1\] units, beyond CMUA's ε = 0\.05"):
        load_perturbation(path)
    torch.save(torch.full((3, 256, 256), -0.05), path)
    protector = baselines.load("cmua", perturbation_path=path)
    assert protector.promised_linf() == pytest.approx(0.025 + 0.5 / 255)
    bad = torch.full((2, 3, 256, 256), 0.5)
    bad[1, 0, 0, 0] = float("nan")  # a crop a broken loader handed over
    protector.protect(bad)
    assert protector.last_status == ["ok", "failed"] and "NaN" in protector.last_messages[1]


# ---- a column's failed images: their own outcome in the cells and the table --------------------------
class _FailsOne:
    """The real ``noise`` protector, except that it reports one image (by key order) failed, as an upstream
    adapter does when its driver raised on that image."""

    def __init__(self, inner: baselines.Protector, failing: int) -> None:
        self.inner, self.failing, self.seen = inner, failing, 0

    def protect(self, images: torch.Tensor) -> torch.Tensor:
        out = self.inner.protect(images).clone()
        status, messages = [], []
        for index in range(len(images)):
            failed = self.seen + index == self.failing
            status.append("failed" if failed else "ok")
            messages.append("noise: failed: ValueError: degenerate affine" if failed else "")
            if failed:
                out[index] = images[index]
        self.seen += len(images)
        self.last_status, self.last_messages = status, messages
        return out

    def describe(self) -> dict[str, object]:
        return self.inner.describe()


def _run_with_noise_as(wrap, tmp_path: Path, table: str, recognizers: list[str]):
    """Run ``table`` (clean and noise columns) on six sample faces with the noise protector wrapped by ``wrap``;
    the faces and the run's report."""
    from benchmarks.execute import run
    from benchmarks.workspace import Components, default_build_protector
    from tests.sample_subsets import balanced_sample_views

    faces = balanced_sample_views(identities=3, per_identity=2)

    def build(spec, device=None):
        protector = default_build_protector(spec, device)
        return wrap(protector) if spec.name == "noise" else protector

    config = {
        "table": table, "experiment": "exp", "output_root": str(tmp_path),
        "dataset": {"name": "sample", "split": "test", "views": True, "root": None, "max_images": None},
        "protectors": ["clean", "noise"], "protector_options": {"noise": {"target_psnr": 35.0}},
        "recognizers": recognizers, "identification": bool(recognizers), "visual": True, "perceptual": None,
        "seed": 0, "device": "cpu", "batch_size": 4, "build_tables": False,
    }
    return faces, run(config, components=Components(load_dataset=lambda cfg: faces, build_protector=build),
                      check_registries=True)


def test_a_column_leaves_an_image_its_protector_failed_out_of_every_metric_and_names_it(tmp_path: Path):
    from benchmarks.report.write import build_tables

    faces, report = _run_with_noise_as(lambda p: _FailsOne(p, failing=2), tmp_path, "table2", ["sface-onnx"])
    cells = [json.loads(p.read_text()) for p in report.experiment.glob("cells/**/*.json")]
    noise = {c["kind"]: c for c in cells if c["key"]["protector"] == "noise"}
    failed_key = faces.keys[2]
    ident = noise["identification"]
    assert ident["failures"]["protection"] == 1
    assert ident["failures"]["protection_failed"] == {failed_key: "noise: failed: ValueError: degenerate affine"}
    assert ident["counts"]["excluded"] == 1 and ident["counts"]["probes"] == len(faces) - 1
    assert ident["per_image"]["status"][2] == "excluded" and ident["per_image"]["rank"][2] is None
    visual = noise["visual"]
    assert visual["counts"] == {"images": len(faces), "measured": len(faces) - 1}
    assert failed_key not in visual["per_image"]["keys"] and visual["failures"]["protection"] == 1
    clean = next(c for c in cells if c["key"]["protector"] == "clean")
    assert clean["failures"]["protection"] == 0 and clean["counts"]["excluded"] == 0
    build_tables(report.experiment)
    markdown = (report.experiment / "tables" / "table2.md").read_text()
    assert f"noise: 1 of {len(faces)} images failed protection and are left out of every metric" in markdown
    assert f"({failed_key}: failed: ValueError: degenerate affine)" in markdown  # the column is named once


class _LeavesOneUnchanged(_FailsOne):
    """The real ``noise`` protector, except that one image comes back exactly as it went in (reported ok)."""

    def protect(self, images: torch.Tensor) -> torch.Tensor:
        out = self.inner.protect(images).clone()
        for index in range(len(images)):
            if self.seen + index == self.failing:
                out[index] = images[index]
        self.seen += len(images)
        self.last_status, self.last_messages = ["ok"] * len(images), [""] * len(images)
        return out


def test_a_visual_note_names_its_column_once(tmp_path: Path):
    from benchmarks.report.write import build_tables

    faces, report = _run_with_noise_as(lambda p: _LeavesOneUnchanged(p, failing=1), tmp_path, "table1", [])
    build_tables(report.experiment)
    markdown = (report.experiment / "tables" / "table1.md").read_text()
    assert f"- noise (visual): 1 of {len(faces)} protected images are identical to the clean ones" in markdown
