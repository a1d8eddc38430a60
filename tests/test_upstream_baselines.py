"""Rehearsals of the baseline adapters against their real upstream code, with random weights (plumbing only).

For Initiative, Anti-Forgery and DF-RAP (``stargan`` mode) the upstream's file tree is copied from
``NULLSWAP_UPSTREAM_SOURCES/<name>/`` to a scratch folder, the upstream's own network classes are built
there with random initial weights by ``baselines/rehearsal/build_<name>.py`` and saved in the upstream's
own format where its code loads them, and marked as stand-ins (:mod:`nullswap.upstream.rehearsal`).  The
real adapter then runs through ``baselines.load``, the real runner and the real driver, on real faces of
the offline sample set.  CMUA publishes only a tensor: a random one within its budget is saved where the
adapter loads it and marked.  The pinned upstream environments (old torch) cannot be built here, so the
builders and drivers run under the project's own interpreter, and the provenance says so
(``environment``).  Iterative methods run one or two iterations: these tests check plumbing and the
promises each method makes, never how well random weights protect.

Faces: ``face_api/sample1/1`` is aligned from a photo whose edge the canonical frame runs past, so it
holds exact-black padding (where Anti-Forgery's Lab conversion has an undefined gradient); the two Obama
photos hold no exact-black pixel and pass the upstream's Lab attack as published.

Skipped, with the reason, when ``NULLSWAP_UPSTREAM_SOURCES`` is unset or lacks the upstream's tree.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import baselines
from baselines.cmua import TRAINED_EPS, default_perturbation_path
from nullswap import standin
from nullswap.images import to_uint8
from nullswap.upstream import ExternalRunError, UpstreamNotReady, rehearsal

pytestmark = pytest.mark.upstream

REPO = Path(__file__).resolve().parent.parent
BUILDERS = REPO / "baselines" / "rehearsal"
BLACK_PADDED = "face_api/sample1/1"
PLAIN = ("face_recognition/obama/0", "face_recognition/obama3/0")
#: the cheapest settings that still run each upstream's loop (two Adam steps: the first output is pre-step)
AF_REHEARSAL = {"iterations": 2}
DFRAP_REHEARSAL = {"mode": "stargan", "steps": 1}


# ---- stand-in checkouts: one per upstream, shared by the module ------------------------------------------
def prepare(name: str, folder: Path, mode: str | None = None, **options: object) -> Path:
    """A scratch checkout of upstream ``name`` with random-weight stand-ins (skips when its tree is absent)."""
    reason = rehearsal.missing_reason(name)
    if reason:
        pytest.skip(reason)
    factory = baselines.REGISTRY.get(name)
    return rehearsal.prepare_standin(
        factory.spec, rehearsal.source_tree(name), folder / name / "checkout", rehearsal.project_python(),
        BUILDERS / f"build_{name}.py", mode=mode, options={**factory.default_options, **options},
    )


@pytest.fixture(scope="module")
def checkouts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("upstreams")


@pytest.fixture(scope="module")
def initiative_checkout(checkouts: Path) -> Path:
    return prepare("initiative", checkouts)


@pytest.fixture(scope="module")
def antiforgery_checkout(checkouts: Path) -> Path:
    return prepare("antiforgery", checkouts)


@pytest.fixture(scope="module")
def dfrap_checkout(checkouts: Path) -> Path:
    return prepare("dfrap", checkouts, mode="stargan")


def load(name: str, checkout: Path, root: Path, **options: object) -> baselines.Protector:
    """The real adapter on the stand-in checkout: unpinned copy accepted, project python, CPU, scratch root."""
    return baselines.load(name, checkout=checkout, python=rehearsal.project_python(), accept_unpinned=True,
                          root=root, device="cpu", timeout=900, **options)


@pytest.fixture(scope="module")
def faces(sample_all) -> dict[str, torch.Tensor]:
    """Real aligned faces of the offline sample set, float [0, 1] on the uint8 grid, by key."""
    chosen = {key: torch.from_numpy(sample_all.images[sample_all.keys.index(key)]).permute(2, 0, 1).float() / 255.0
              for key in (BLACK_PADDED, *PLAIN)}
    assert int((chosen[BLACK_PADDED].sum(0) == 0).sum()) > 1000, "the padded crop must hold exact black"
    assert all(int((chosen[key].sum(0) == 0).sum()) == 0 for key in PLAIN)
    return chosen


def batch(faces: dict[str, torch.Tensor], *keys: str) -> torch.Tensor:
    return torch.stack([faces[key] for key in keys])


def assert_rehearsal_provenance(protector: baselines.Protector) -> dict:
    """The provenance names every stand-in as 'random weights: rehearsal', the unpinned copy, and the
    interpreter; returns it."""
    described = protector.describe()
    found = standin.reasons(described)
    assert found and all(reason.endswith(": random weights: rehearsal") for reason in found)
    assert described["pin"]["pinned"] is False and described["pin"]["accepted_unpinned"] is True
    assert described["pin"]["found"] is None  # a copy of the tree, not a git clone at the pinned commit
    assert described["environment"]["variant"] == "project interpreter"
    for record in described["standin_weights"]:
        assert standin.read(record["file"])["interpreter"] == rehearsal.PROJECT_INTERPRETER
    print(f"\n{protector.name}: rehearsed under {rehearsal.PROJECT_INTERPRETER} ({described['environment']['python']}); "
          f"stand-ins: {', '.join(Path(r).name.split(':')[0] for r in found)}")
    return described


def assert_protected_crops(clean: torch.Tensor, protected: torch.Tensor) -> None:
    """Same shape, values in [0, 1] on the uint8 grid (what a saved image holds)."""
    assert protected.shape == clean.shape and protected.dtype == clean.dtype
    assert float(protected.min()) >= 0.0 and float(protected.max()) <= 1.0
    assert torch.equal(protected, torch.round(protected * 255.0) / 255.0)


def linf_255(clean: torch.Tensor, protected: torch.Tensor) -> list[int]:
    return [int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(to_uint8(clean), to_uint8(protected))]


# ---- Initiative --------------------------------------------------------------------------------------------
def test_initiative_protects_real_faces_within_eps_through_its_real_upstream(
    initiative_checkout: Path, faces: dict[str, torch.Tensor], tmp_path: Path
):
    """The builder scales the random generator's last BatchNorm gain so its tanh saturates (see
    build_initiative.py): the change reaches the method's full ±eps and survives uint8, so 'outputs differ
    from inputs' is checked on the saved images."""
    clean = batch(faces, BLACK_PADDED, *PLAIN)
    protector = load("initiative", initiative_checkout, tmp_path)
    protected = protector.protect(clean)
    assert protector.last_status == ["ok"] * 3
    assert_protected_crops(clean, protected)
    # eps 0.05 in [-1, 1] units = 6.375/255 in its 128 frame; rounding in the frame and here adds at most 1
    assert all(0 < row["frame_linf_255"] <= 0.05 / 2 * 255 + 0.5 + 1e-3 for row in protector.last_stats)
    assert all(1 <= linf <= 7 for linf in linf_255(clean, protected))
    assert protector.last_info["device"] == "cpu" and protector.last_info["cuda_visible_devices"] == ""
    again = protector.protect(clean)
    assert torch.equal(again, protected)  # the same seed, the same protected images
    assert not (tmp_path / "initiative" / "weights.lock.json").exists()
    assert_rehearsal_provenance(protector)


def test_an_image_initiatives_own_code_rejects_fails_alone(
    initiative_checkout: Path, faces: dict[str, torch.Tensor], tmp_path: Path
):
    """A 100 px image among 128 px frames: the batch cannot be stacked, so the driver retries each image
    alone, and the upstream's U-Net itself rejects the odd size (its skip connections do not line up)."""
    protector = load("initiative", initiative_checkout, tmp_path)
    frames = list(to_uint8(protector.to_frame(batch(faces, *PLAIN))))
    odd = np.ascontiguousarray(frames[0][:100, :100])
    result = protector.runner.run({"first": frames[0], "odd": odd, "last": frames[1]}, protector.options,
                                  timeout=900, device="cpu")
    by_id = result.by_id()
    assert by_id["first"].ok and by_id["last"].ok
    assert by_id["odd"].status == "failed" and by_id["odd"].message.startswith("RuntimeError")
    assert "retrying odd alone" in result.log_path.read_text()


# ---- Anti-Forgery ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def antiforgery_runs(antiforgery_checkout: Path, faces: dict[str, torch.Tensor],
                     tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The padded crop and a plain one, protected twice: as shipped (undefined gradients zeroed) and as
    published (``nan_gradients: upstream``)."""
    clean = batch(faces, BLACK_PADDED, PLAIN[0])
    runs = {}
    for variant in ("zero", "upstream"):
        protector = load("antiforgery", antiforgery_checkout, tmp_path_factory.mktemp("af"), **AF_REHEARSAL,
                         nan_gradients=variant)
        runs[variant] = (protector, protector.protect(clean), dict(protector.last_info))
    runs["clean"] = clean
    return runs


def test_antiforgery_protects_real_faces_within_its_lab_bound_through_its_real_upstream(antiforgery_runs: dict):
    """With random weights Adam's two steps of 1e-4 move the a/b channels by ~1e-5, far below one uint8
    step: that the method changed each image is checked before rounding, in the driver's report."""
    protector, protected, info = antiforgery_runs["zero"]
    clean = antiforgery_runs["clean"]
    assert protector.last_status == ["ok", "ok"]
    assert_protected_crops(clean, protected)
    assert info["generator_mode"] == "train"  # StarGAN normalised per image, as upstream attacks it
    assert info["device"] == "cpu" and info["cuda_visible_devices"] == "" and info["cuda_shim"] is True
    padded, plain = (info["items"][f"{i:06d}"] for i in range(2))
    for item in (padded, plain):
        assert 0 < item["ab_change"] <= 0.05  # the a/b clamp, in the upstream's normalised Lab units
    assert padded["undefined_gradients"] > 0 and plain["undefined_gradients"] == 0
    assert all(linf <= 1 for linf in linf_255(clean, protected))
    assert_rehearsal_provenance(protector)


def test_antiforgery_as_published_destroys_a_black_padded_crop_which_then_fails_alone(antiforgery_runs: dict):
    """The upstream's NaN gradient at exact black turns the padded crop into NaN; the driver's bound check
    fails it with the numbers, it comes back clean, and its neighbour is protected exactly as in the other
    run (same seed, same input: deterministic)."""
    protector, protected, info = antiforgery_runs["upstream"]
    clean = antiforgery_runs["clean"]
    assert protector.last_status == ["failed", "ok"]
    assert "a/b change not finite" in protector.last_messages[0] and "nan_gradients=upstream" in (
        protector.last_messages[0])
    assert torch.equal(protected[0], clean[0])
    assert torch.equal(protected[1], antiforgery_runs["zero"][1][1])
    assert info["items"]["000001"] == antiforgery_runs["zero"][2]["items"]["000001"]


def test_antiforgery_accepts_a_checkpoint_without_running_statistics_but_not_one_missing_a_parameter(
    antiforgery_checkout: Path, tmp_path: Path
):
    """Upstream loads StarGAN with strict=False and never reads the running statistics (train mode), so a
    checkpoint without them is fine; one that lacks a weight would silently run a half-random network."""
    import importlib.util
    import sys

    from nullswap.upstream import PROTOCOL_DIR

    spec = importlib.util.spec_from_file_location("antiforgery_model", antiforgery_checkout / "model.py")
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    sys.path[:0] = [str(PROTOCOL_DIR), str(REPO / "baselines" / "drivers")]
    try:
        import drive_antiforgery
    finally:
        del sys.path[:2]
    state = torch.load(antiforgery_checkout / "stargan_celeba_256/models/200000-G.ckpt", weights_only=True)
    without_stats = tmp_path / "no-stats.ckpt"
    torch.save({k: v for k, v in state.items() if "running" not in k and "num_batches" not in k}, without_stats)
    missing, _ = drive_antiforgery._load_generator(torch, model.Generator(64, 5, 6), str(without_stats))
    assert missing and all("running" in key or "num_batches" in key for key in missing)
    lacking = tmp_path / "lacking.ckpt"
    torch.save({k: v for k, v in state.items() if k != "main.0.weight"}, lacking)
    with pytest.raises(RuntimeError, match=r"lacks 1 generator parameters, e.g. \['main.0.weight'\]"):
        drive_antiforgery._load_generator(torch, model.Generator(64, 5, 6), str(lacking))


# ---- DF-RAP (stargan mode) ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dfrap_run(dfrap_checkout: Path, faces: dict[str, torch.Tensor], tmp_path_factory: pytest.TempPathFactory):
    protector = load("dfrap", dfrap_checkout, tmp_path_factory.mktemp("dfrap"), **DFRAP_REHEARSAL)
    clean = batch(faces, BLACK_PADDED, PLAIN[0])
    return protector, clean, protector.protect(clean), dict(protector.last_info)


def test_dfrap_protects_real_faces_within_epsilon_through_its_real_upstream(dfrap_run):
    protector, clean, protected, info = dfrap_run
    assert protector.last_status == ["ok", "ok"]
    assert_protected_crops(clean, protected)
    # PGD's random start already moves pixels by up to epsilon = 0.05 in [-1, 1] units = 6.375/255
    assert all(1 <= linf <= 7 for linf in linf_255(clean, protected))
    assert all(row["frame_linf_255"] <= 0.05 / 2 * 255 + 0.5 + 1e-3 for row in protector.last_stats)
    assert info["device"] == "cpu" and info["cuda_visible_devices"] == "" and info["steps"] == 1
    assert info["victim_mode"] == "train"  # StarGAN as deepfakes.stargan_model leaves it (no eval)
    assert set(info["upstream_devices"].values()) == {"cpu"}  # the upstream's 'cuda if available' globals
    assert_rehearsal_provenance(protector)


def test_dfrap_is_deterministic_under_a_seed_and_an_image_its_code_rejects_fails_alone(dfrap_run):
    """The first face again, beside a 200 px image that the upstream's ComGAN U-Net rejects (its skip
    connections need a side divisible by 16): the face comes back byte for byte as in the adapter's run
    (same seed, same position), the odd image fails with the upstream's own error."""
    protector, clean, protected, _ = dfrap_run
    first = to_uint8(clean[:1])[0]
    odd = np.ascontiguousarray(first[:200, :200])
    result = protector.runner.run({"first": first, "odd": odd}, protector.options, timeout=900,
                                  seed=protector.seed, device="cpu", mode="stargan")
    by_id = result.by_id()
    assert by_id["first"].ok
    np.testing.assert_array_equal(by_id["first"].image, to_uint8(protected[:1])[0])
    assert by_id["odd"].status == "failed" and by_id["odd"].message.startswith("RuntimeError")


def test_dfrap_simswap_mode_on_the_cpu_is_refused_before_anything_runs(dfrap_checkout: Path, tmp_path: Path):
    with pytest.raises(UpstreamNotReady, match="in mode 'simswap' runs only on a CUDA device"):
        load("dfrap", dfrap_checkout, tmp_path, mode="simswap", check=False)


# ---- the request's device, for every baseline driver -------------------------------------------------------
@pytest.mark.parametrize("name", ["initiative", "antiforgery", "dfrap"])
def test_every_baseline_driver_runs_on_the_gpu_its_request_names_or_says_why_not(
    name: str, request: pytest.FixtureRequest, faces: dict[str, torch.Tensor], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """``cuda:1`` with two GPUs visible: the driver process sees only the second (as cuda:0).  On a machine
    whose torch sees no such GPU the driver refuses with the reason; on one that has it, it runs there.
    (``device=cpu`` hides every GPU: the rehearsals above assert it from each driver's report.)"""
    checkout = request.getfixturevalue(f"{name}_checkout")
    options = {"antiforgery": AF_REHEARSAL, "dfrap": DFRAP_REHEARSAL}.get(name, {})
    protector = baselines.load(name, checkout=checkout, python=rehearsal.project_python(), accept_unpinned=True,
                               root=tmp_path, device="cuda:1", timeout=900, **options)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    try:
        protector.protect(batch(faces, PLAIN[0]))
    except ExternalRunError as refused:
        assert "device 'cuda:0' requested but torch sees no CUDA device (CUDA_VISIBLE_DEVICES='1'" in str(refused)
    else:
        assert protector.last_info["device"] == "cuda:0" and protector.last_info["cuda_visible_devices"] == "1"


# ---- CMUA --------------------------------------------------------------------------------------------------
def test_cmua_adds_a_stand_in_perturbation_within_its_budget(
    faces: dict[str, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """CMUA publishes a bare (3, 256, 256) tensor within ±0.05 ([-1, 1] units); a random one is saved where
    the adapter loads it by default and marked as a stand-in."""
    monkeypatch.setenv("NULLSWAP_HOME", str(tmp_path))
    path = default_perturbation_path()
    path.parent.mkdir(parents=True)
    torch.save(torch.empty(3, 256, 256).uniform_(-TRAINED_EPS, TRAINED_EPS, generator=torch.Generator().manual_seed(0)),
               path)
    standin.mark(path, standin.RANDOM_WEIGHTS, upstream="cmua", what="uniform noise in ±0.05, CMUA's shape")
    protector = baselines.load("cmua")
    clean = batch(faces, BLACK_PADDED, *PLAIN)
    broken = clean.clone()
    broken[1, :, :8, :8] = float("nan")  # a crop a broken loader handed over
    protected = protector.protect(broken)
    assert protector.last_status == ["ok", "failed", "ok"] and "NaN" in protector.last_messages[1]
    assert torch.isnan(protected[1]).any()  # the failed image comes back as it came in; never counted
    kept = protected[[0, 2]]
    assert_protected_crops(clean[[0, 2]], kept)
    assert all(1 <= linf <= 6 for linf in linf_255(clean[[0, 2]], kept))  # 0.025 + rounding: at most 6/255
    assert torch.equal(protector.protect(clean[[0, 2]]), kept)
    found = standin.reasons(protector.describe())
    assert found == [f"{path}: random weights: rehearsal"]


# ---- a rehearsal Table 2 -----------------------------------------------------------------------------------
def test_a_rehearsal_table2_of_the_four_stand_ins_is_headed_as_one_and_refused_by_a_real_run(
    initiative_checkout: Path, antiforgery_checkout: Path, dfrap_checkout: Path, sample_all, tmp_path: Path,
):
    """``python -m benchmarks.table2``'s code path (``benchmarks.execute.run`` on the composed table2
    config) with the four random-weight stand-ins as columns beside clean, on four real faces (two people,
    two photos each), an offline recognizer, ``rehearsal=true`` and a temporary output folder.  Anti-Forgery
    runs as published (``nan_gradients: upstream``) so that the table shows a failed protection — the
    padded crop — as its own outcome.  The table is printed (``-s``) with its REHEARSAL header."""
    from hydra import compose, initialize_config_dir

    from benchmarks.cli import register_resolvers
    from benchmarks.errors import MissingPieces
    from benchmarks.execute import run
    from benchmarks.plan import to_plain
    from benchmarks.store import RehearsalError
    from benchmarks.workspace import Components

    keys = [BLACK_PADDED, "face_api/sample4/0", *PLAIN]  # two photos of each of two people
    faces = sample_all.subset([sample_all.keys.index(key) for key in keys], "rehearsal-4")
    cmua = tmp_path / "cmua" / "perturbation.pt"
    cmua.parent.mkdir()
    torch.save(torch.empty(3, 256, 256).uniform_(-TRAINED_EPS, TRAINED_EPS, generator=torch.Generator().manual_seed(0)),
               cmua)
    standin.mark(cmua, standin.RANDOM_WEIGHTS, upstream="cmua")
    python = rehearsal.project_python()
    upstream = {"initiative": initiative_checkout, "antiforgery": antiforgery_checkout, "dfrap": dfrap_checkout}
    overrides = [
        "setting=offline", "protectors=[clean,initiative,antiforgery,cmua,dfrap]", "recognizers=[sface]",
        "perceptual=null", f"output_root={tmp_path / 'out'}", "experiment=rehearsal", "rehearsal=true",
        "device=cpu", "batch_size=4", f"+protector_options.cmua.perturbation_path={cmua}",
        "+protector_options.antiforgery.iterations=2", "+protector_options.antiforgery.nan_gradients=upstream",
        "+protector_options.dfrap.mode=stargan", "+protector_options.dfrap.steps=1",
    ]
    for name, checkout in upstream.items():
        overrides += [f"+protector_options.{name}.checkout={checkout}", f"+protector_options.{name}.python={python}",
                      f"+protector_options.{name}.accept_unpinned=true",
                      f"+protector_options.{name}.root={tmp_path / 'upstream-root'}"]
    register_resolvers()
    with initialize_config_dir(str(REPO / "nullswap" / "conf" / "benchmark"), version_base="1.3"):
        cfg = to_plain(compose("table2", overrides=overrides))
    report = run(cfg, components=Components(load_dataset=lambda _: faces), check_registries=True)

    cells = [json.loads(p.read_text()) for p in report.experiment.glob("cells/**/*.json")]
    stand_ins = [c for c in cells if c["key"]["protector"] != "clean"]
    assert stand_ins and all(c["rehearsal"]["reasons"] for c in cells)
    assert all(any(r.endswith("random weights: rehearsal") for r in c["rehearsal"]["reasons"]) for c in stand_ins)
    af = next(c for c in stand_ins if c["key"]["protector"] == "antiforgery" and c["kind"] == "identification")
    failed = af["failures"]["protection"]
    assert failed >= 1 and BLACK_PADDED in af["failures"]["protection_failed"]
    assert af["counts"]["excluded"] == failed and af["per_image"]["status"][0] == "excluded"
    markdown = (report.experiment / "tables" / "table2.md").read_text()
    print("\n" + markdown)
    assert markdown.split("\n\n")[1].startswith(standin.REHEARSAL_HEADER)
    assert f"antiforgery: {failed} of 4 images failed protection and are left out of every metric" in markdown

    # a real run refuses these cells: the same folder is a rehearsal's, and another folder refuses the
    # stand-in cells (computed from the copied caches, so nothing is protected twice)
    real = {**cfg, "rehearsal": False}
    with pytest.raises(RehearsalError, match="holds rehearsal cells"):
        run(real, components=Components(load_dataset=lambda _: faces), check_registries=True)
    elsewhere = tmp_path / "real" / "rehearsal"
    elsewhere.mkdir(parents=True)
    os.symlink(report.experiment / "cache", elsewhere / "cache")
    with pytest.raises(MissingPieces, match="computed with stand-in weights"):
        run({**real, "output_root": str(tmp_path / "real")}, components=Components(load_dataset=lambda _: faces),
            check_registries=True)
    written = list((tmp_path / "real").glob("rehearsal/cells/**/*.json"))
    assert all(json.loads(p.read_text())["key"]["protector"] == "clean" for p in written)  # no stand-in
    # with nothing cached, a real run refuses each stand-in protector before it protects anything
    with pytest.raises(MissingPieces) as refused:
        run({**real, "output_root": str(tmp_path / "fresh")}, components=Components(load_dataset=lambda _: faces),
            check_registries=True)
    message = str(refused.value)
    for name in ("initiative", "antiforgery", "cmua", "dfrap"):
        assert f"protector {name} would use stand-in weights" in message
