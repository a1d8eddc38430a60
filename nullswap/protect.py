"""Protect faces with a trained NullSwap generator: aligned crops (API) and real photos (CLI).

``nullswap protect`` takes photos or folders as they come — unaligned, any size, several faces — and
for each face: detects it (on a copy at most ``--detect-side`` pixels long, landmarks mapped back),
aligns it to the canonical 256 crop, cloaks it in one forward pass, and pastes only the change back
into the full-resolution photo, so pixels away from faces stay bit-identical.

What it promises a user (see :mod:`nullswap.protect_plan` and :mod:`nullswap.protect_report`):

* nothing is lost or overwritten: every input gets its own output name, outputs are never read as
  inputs, a setting that would write over an input is refused before any work, and the report lists
  every input exactly once and is rewritten after every photo;
* the photo comes back as the same kind of file (:mod:`nullswap.faces.photo`): lossless PNG with the
  same bit depth, greyscale kept, alpha copied, EXIF orientation applied; EXIF metadata kept or
  stripped as ``--metadata`` says; any change of kind is stated per photo in the report;
* the cloak's noise is seeded per photo from its content (and ``--seed``): the same photo always gives
  the same result, two photos never share a noise pattern;
* ``--verify`` measures, per face, whether the protection took (:mod:`nullswap.verify`).

``--refine K`` goes beyond the one forward pass: K steps of projected optimisation per face against the
recognizers the generator was trained on, over what an attacker does to a photo, within a PSNR and an
SSIM budget that are checked after rounding (:mod:`nullswap.refine`).

Speed: the PNG of one photo is encoded and written by a worker thread while the next photo is read,
detected and cloaked (the report still records each photo in order, and a photo whose file is being
written is finished before the run stops for any reason); the PNG is compressed with a fast zlib level
(``--png-level``, lossless at every level); only the face regions are ever converted to floating point.
Each photo's report entry lists the seconds spent per stage.

A generator trained at a lower resolution than the crop (e.g. the 128 px CPU demo model) cloaks the
crop in its own frame and the change is brought back to 256 by upsampling, exactly like the baseline
adapters do for their upstream frames.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from nullswap.assets import cache_root
from nullswap.checkpoint import cloak_at_resolution, load_generator
from nullswap.faces.align import AlignedFace, align_face, paste_back
from nullswap.faces.detect import (
    FaceInputError,
    ImageTooSmallError,
    NoFaceError,
    detect_faces,
    get_detector,
    plausible_faces,
)
from nullswap.faces.photo import (
    DEFAULT_MAX_MEGAPIXELS,
    DEFAULT_PNG_LEVEL,
    Photo,
    PhotoTooLargeError,
    compose,
    encode_photo,
    read_photo,
)
from nullswap.images import to_uint8
from nullswap.protect_plan import IMAGE_SUFFIXES, PlanError, Planned, make_plan, photo_seed, sha256_file
from nullswap.protect_report import FINISHED_OK, ProtectReport
from nullswap.runtime import resolve_device

if TYPE_CHECKING:
    from nullswap.refine import Refiner
    from nullswap.verify import Verifier

__all__ = ["IMAGE_SUFFIXES", "NullSwapCloak", "ProtectOptions", "StageClock", "default_checkpoint", "main",
           "protect_files", "protect_photo"]


#: the operating-point generator committed with the project (``experiment=offline``, see its generator.json)
SHIPPED_GENERATOR = Path(__file__).resolve().parents[1] / "results" / "offline" / "generator.pt"


def default_checkpoint() -> Path:
    """``$NULLSWAP_CHECKPOINT``, else the committed offline operating-point generator, else the
    checkpoint that ``make demo`` trains."""
    if os.environ.get("NULLSWAP_CHECKPOINT"):
        return Path(os.environ["NULLSWAP_CHECKPOINT"])
    if SHIPPED_GENERATOR.is_file():
        return SHIPPED_GENERATOR
    return cache_root() / "runs" / "demo" / "checkpoints" / "last.pt"


class NullSwapCloak:
    """A trained generator ready to cloak canonical crops (B, 3, 256, 256) in [0, 1]."""

    def __init__(self, generator: torch.nn.Module, resolution: int, device: torch.device, seed: int = 0,
                 source: str = "", recognizers: list[str] | None = None, target_psnr: float | None = None) -> None:
        self.generator = generator.to(device).eval()
        self.trained_psnr = getattr(generator, "budget_psnr", None)
        if target_psnr is not None:
            if not hasattr(generator, "budget_psnr"):
                raise ValueError("target_psnr needs a generator with a residual head")
            # The L2 budget is applied to the residual in the generator's frame, so moving it trades
            # fidelity for cloaking along the direction the generator learned (one model, many points).
            generator.budget_psnr = float(target_psnr)
        self.target_psnr = getattr(generator, "budget_psnr", None)
        self.resolution = int(resolution)
        self.device = device
        self.seed = int(seed)
        self.source = source
        self.recognizers = list(recognizers or [])

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto", seed: int = 0,
                        target_psnr: float | None = None) -> NullSwapCloak:
        generator, resolution, state = load_generator(path)
        return cls(generator, resolution, resolve_device(device), seed, str(path), state.get("recognizers"),
                   target_psnr)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch_size: int = 16, seed: int | None = None) -> torch.Tensor:
        """Cloak crops; deterministic for a given seed (``seed``, else the cloak's own): the adaptive
        noise is drawn from it."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) RGB crops, got {tuple(images.shape)}")
        generator = torch.Generator(device=self.device).manual_seed(self.seed if seed is None else int(seed))
        outputs = []
        for start in range(0, len(images), batch_size):
            clean = images[start : start + batch_size].to(self.device, torch.float32)
            outputs.append(cloak_at_resolution(self.generator, clean, self.resolution, generator).cpu())
        return torch.cat(outputs)

    def describe(self) -> dict[str, object]:
        return {"checkpoint": self.source, "resolution": self.resolution, "seed": self.seed,
                "trained_against": self.recognizers, "budget_psnr": self.target_psnr,
                "trained_budget_psnr": self.trained_psnr}


# ----------------------------------------------------------------------------------------------
# Photos
# ----------------------------------------------------------------------------------------------
DEFAULT_DETECT_SIDE = 1280
"""Photos are searched for faces on a copy at most this long (faces down to ~20 px in that copy)."""


class StageClock:
    """Seconds per stage of one photo — ``decode``, ``detect``, ``align``, ``cloak``, ``refine``,
    ``paste``, ``encode``, ``write`` — as its report entry lists them (``timing``)."""

    STAGES = ("decode", "detect", "align", "cloak", "refine", "paste", "encode", "write")

    def __init__(self) -> None:
        self.started_at = time.time()
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def describe(self) -> dict[str, object]:
        return {"started_at": round(self.started_at, 3),
                "seconds": {k: round(self.seconds[k], 4) for k in self.STAGES if k in self.seconds}}


def _stage(clock: StageClock | None, name: str) -> contextlib.AbstractContextManager[None]:
    return clock.stage(name) if clock is not None else contextlib.nullcontext()


@dataclass
class PhotoOutcome:
    """What happened to one input photo (one report entry)."""

    source: str
    status: str                      # see nullswap.protect_report
    output: str | None = None
    faces: int = 0
    message: str = ""
    boxes: list[list[float]] = field(default_factory=list)
    source_sha256: str = ""
    seed: int | None = None
    photo: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    verify: list[dict] | None = None
    refine: list[dict] | None = None
    timing: dict[str, object] = field(default_factory=dict)


@dataclass
class ProtectOptions:
    overwrite: bool = False
    all_faces: bool = True
    detector: str = "mtcnn"
    detect_side: int | None = DEFAULT_DETECT_SIDE
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    keep_metadata: bool = False
    seed: int = 0
    png_level: int = DEFAULT_PNG_LEVEL


def find_faces(rgb: np.ndarray, detector: object, detect_side: int | None = DEFAULT_DETECT_SIDE,
               clock: StageClock | None = None) -> list[AlignedFace]:
    """The plausible faces of an RGB uint8 photo, left to right, aligned from a (downscaled) detection."""
    with _stage(clock, "detect"):
        detections = plausible_faces(detect_faces(rgb, detector, max_side=detect_side))
    detections.sort(key=lambda d: (float(d.centre[0]), float(d.centre[1])))
    faces = []
    with _stage(clock, "align"):
        for d in detections:
            crop, matrix = align_face(rgb, d.landmarks)
            faces.append(AlignedFace(crop, matrix, d.landmarks, d.box, d.score))
    return faces


#: pixels of the photo pasted at once: the float buffers of :func:`paste_region` stay ~10–20 MB even for
#: a face that fills a 48-MP photo
PASTE_BAND_PIXELS = 1_000_000


def paste_region(photo: np.ndarray, protected_crop: np.ndarray, face: AlignedFace) -> None:
    """:func:`~nullswap.faces.align.paste_back` on the part of ``photo`` the crop covers, in place —
    the same pixels as a full-photo paste, without full-photo float buffers: the region is pasted in bands
    of rows (a face that fills a 12-MP photo would otherwise need ~1 GB of float32 copies of itself)."""
    height, width = photo.shape[:2]
    size = protected_crop.shape[0]
    inverse = cv2.invertAffineTransform(np.asarray(face.matrix, dtype=np.float64))
    corners = np.array([[0.0, 0.0], [size, 0.0], [0.0, size], [size, size]])
    points = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = (max(0, int(np.floor(v)) - 2) for v in points.min(axis=0))
    x1, y1 = min(width, int(np.ceil(points[:, 0].max())) + 3), min(height, int(np.ceil(points[:, 1].max())) + 3)
    if x0 >= x1 or y0 >= y1:
        return
    rows = max(16, PASTE_BAND_PIXELS // (x1 - x0))
    for top in range(y0, y1, rows):
        bottom = min(y1, top + rows)
        matrix = np.array(face.matrix, dtype=np.float64)
        matrix[:, 2] += matrix[:, :2] @ np.array([x0, top], dtype=np.float64)
        region = np.ascontiguousarray(photo[top:bottom, x0:x1])
        photo[top:bottom, x0:x1] = paste_back(region, protected_crop, matrix, clean_crop=face.crop)


def protect_photo(photo: np.ndarray, cloak: NullSwapCloak, detector: object, all_faces: bool = True, *,
                  detect_side: int | None = DEFAULT_DETECT_SIDE, seed: int | None = None,
                  refiner: Refiner | None = None, clock: StageClock | None = None,
                  ) -> tuple[np.ndarray, list[AlignedFace]]:
    """Cloak (and with ``refiner``, refine) the faces of one RGB uint8 photo; returns the protected photo
    and the aligned faces.  ``refiner.last`` then holds what refinement measured per face."""
    faces = find_faces(photo, detector, detect_side, clock)
    if not faces:
        raise NoFaceError("no face found")
    if not all_faces:
        faces = [max(faces, key=lambda f: float((f.box[2] - f.box[0]) * (f.box[3] - f.box[1])))]
    crops = torch.from_numpy(np.stack([f.crop for f in faces])).permute(0, 3, 1, 2).float() / 255.0
    with _stage(clock, "cloak"):
        cloaked = cloak(crops, seed=seed)
    if refiner is not None:
        with _stage(clock, "refine"):
            cloaked = refiner(crops, cloaked, seed=seed)
    protected = to_uint8(cloaked)
    with _stage(clock, "paste"):
        result = photo.copy()
        for face, crop in zip(faces, protected):
            paste_region(result, crop, face)
    return result, faces


def _owned(previous: dict | None, target: Path) -> bool:
    """Whether an earlier run of this program wrote ``target`` for this photo (per the report)."""
    return bool(previous) and previous.get("output") == str(target) and previous.get("status") in FINISHED_OK


@dataclass
class _Started:
    """A photo whose pixels are done; its PNG may still be on its way to disk (``saving``)."""

    item: Planned
    outcome: PhotoOutcome
    clock: StageClock
    saving: Future | None = None
    photo: Photo | None = None
    boxes: list[np.ndarray] = field(default_factory=list)


def _save(target: Path, photo: Photo, colour: np.ndarray, alpha: np.ndarray | None, keep_metadata: bool,
          png_level: int, clock: StageClock) -> list[str]:
    """Encode and write one protected photo (runs on the writer thread)."""
    from nullswap.atomic import write_bytes

    with clock.stage("encode"):
        data, notes = encode_photo(photo, colour, alpha, keep_metadata, png_level)
    del colour, alpha
    with clock.stage("write"):
        write_bytes(target, data)
    return notes


def start_one(item: Planned, cloak: NullSwapCloak, detector: object, options: ProtectOptions,
              report: ProtectReport, writer: ThreadPoolExecutor | None = None,
              refiner: Refiner | None = None) -> _Started:
    """Read, detect, cloak and paste one planned photo, and hand its PNG to ``writer`` (or write it here
    when there is none).  The report marks the photo ``working`` (with its output) before any write."""
    source, target = item.source, item.target
    clock = StageClock()
    sha = sha256_file(source)
    previous = report.previous(source)
    outcome = PhotoOutcome(str(source), "working", str(target), source_sha256=sha)
    if target.exists() and not options.overwrite:
        if _owned(previous, target) and previous.get("source_sha256") == sha:
            return _Started(item, PhotoOutcome(str(source), "skipped_existing", str(target), source_sha256=sha,
                                               faces=int(previous.get("faces", 0))), clock)
        if not _owned(previous, target):
            outcome.status, outcome.output = "output_exists", None
            outcome.message = (f"{target} exists and was not written by nullswap protect for this photo; "
                               "it was left alone (move it, choose another -o, or pass --overwrite)")
            return _Started(item, outcome, clock)
    earlier = list((previous or {}).get("earlier_outputs", []))
    if previous and previous.get("output") and previous["output"] != str(target):
        earlier.append(previous["output"])
    report.update(source, status="working", output=str(target), source_sha256=sha,
                  earlier_outputs=sorted(set(earlier)))
    outcome.output = None
    try:
        with clock.stage("decode"):
            photo = read_photo(source, options.max_megapixels)
        outcome.photo = photo.describe()
        outcome.seed = photo_seed(sha, options.seed)
        protected, faces = protect_photo(photo.rgb, cloak, detector, options.all_faces,
                                         detect_side=options.detect_side, seed=outcome.seed, refiner=refiner,
                                         clock=clock)
    except PhotoTooLargeError as exc:
        outcome.status, outcome.message = "too_large", str(exc)
    except NoFaceError as exc:
        outcome.status, outcome.message = "no_face", str(exc)
    except ImageTooSmallError as exc:
        outcome.status, outcome.message = "too_small", str(exc)
    except FaceInputError as exc:
        outcome.status, outcome.message = "unreadable", str(exc)
    if outcome.status != "working":
        return _Started(item, outcome, clock)
    with clock.stage("paste"):
        colour, alpha, notes = compose(photo, protected)
    del protected
    outcome.faces = len(faces)
    outcome.boxes = [[round(float(v), 1) for v in f.box] for f in faces]
    outcome.notes = photo.notes + notes
    if refiner is not None and refiner.last:
        outcome.refine = refiner.last
    started = _Started(item, outcome, clock, photo=photo, boxes=[f.box for f in faces])
    arguments = (target, photo, colour, alpha, options.keep_metadata, options.png_level, clock)
    if writer is None:
        started.saving = Future()
        started.saving.set_result(_save(*arguments))
    else:
        started.saving = writer.submit(_save, *arguments)
    return started


def finish_one(started: _Started, options: ProtectOptions, verifier: Verifier | None = None) -> PhotoOutcome:
    """Wait for the photo's file, then (with ``verifier``) re-read it and check the protection took."""
    outcome = started.outcome
    if started.saving is None:
        return outcome
    outcome.notes += started.saving.result()   # a failed write raises here, with the photo still 'working'
    photo = started.photo
    assert photo is not None
    outcome.notes.append("EXIF metadata kept" if options.keep_metadata and photo.exif else
                         "EXIF metadata stripped (--metadata keep copies it)" if photo.exif else "no EXIF metadata")
    outcome.status, outcome.output = "protected", str(started.item.target)
    outcome.timing = started.clock.describe()
    if verifier is not None:
        saved = read_photo(started.item.target, max(options.max_megapixels, photo.rgb.size / 3e6))
        outcome.verify = verifier.check(photo.rgb, saved.rgb, started.boxes)
    started.photo = None
    return outcome


def protect_one(item: Planned, cloak: NullSwapCloak, detector: object, options: ProtectOptions,
                report: ProtectReport, verifier: Verifier | None = None, refiner: Refiner | None = None
                ) -> PhotoOutcome:
    """Protect one planned photo from start to finish (its file written before this returns)."""
    return finish_one(start_one(item, cloak, detector, options, report, None, refiner), options, verifier)


def protect_files(inputs: list[Path], out_dir: Path, cloak: NullSwapCloak, *, suffix: str = "_protected",
                  options: ProtectOptions | None = None, verifier: Verifier | None = None,
                  settings: dict[str, object] | None = None, refiner: Refiner | None = None,
                  ) -> tuple[list[PhotoOutcome], Path]:
    """Plan (refusing unsafe settings before anything is written), then protect photo by photo with
    the report rewritten after each one.  Returns the outcomes and the report path.

    Photo *n*'s PNG is encoded and written on a worker thread while photo *n + 1* is computed; photo *n*
    is entered in the report only once its file is on disk, and when anything stops the run, the photo
    whose file is being written is finished (and reported) first."""
    from tqdm import tqdm

    options = options or ProtectOptions()
    plan = make_plan(inputs, out_dir, suffix)
    described = {"generator": cloak.describe(), **(settings or {})}
    if refiner is not None:
        described.setdefault("refine", refiner.describe())
    report = ProtectReport(plan.report, described)
    report.start(plan.photos, plan.excluded)
    detector = get_detector(options.detector)
    outcomes: list[PhotoOutcome] = []

    def finish(started: _Started) -> None:
        outcome = finish_one(started, options, verifier)
        outcomes.append(outcome)
        bar.update(1)
        if outcome.status == "skipped_existing":
            return  # the earlier entry (status protected, same content) stays as it was
        entry = {k: v for k, v in asdict(outcome).items() if v not in (None, [], {}, "") or k == "output"}
        report.update(started.item.source, **entry)

    threads = torch.get_num_threads()
    with tqdm(total=len(plan.photos), desc="protect", unit="photo") as bar, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="protect-writer") as writer:
        pending: _Started | None = None
        # the writer thread encodes on a core of its own: torch's threads would otherwise wait on each other
        # at every operation while one of them is descheduled (several times slower, not a little)
        torch.set_num_threads(max(1, threads - 1))
        try:
            for item in plan.photos:
                started = start_one(item, cloak, detector, options, report, writer, refiner)
                previous, pending = pending, started
                if previous is not None:
                    finish(previous)
        finally:
            try:
                if pending is not None:
                    finish(pending)
            finally:
                torch.set_num_threads(threads)
    report.finish()
    return outcomes, plan.report


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from nullswap.refine import DEFAULT_STEPS, RefineConfig

    defaults = RefineConfig()
    parser = argparse.ArgumentParser(
        prog="nullswap protect",
        description="Cloak the faces in photos so that face recognizers and face swappers lose the identity. "
        "Writes <name>_protected.png files (lossless, same bit depth, alpha and greyscale kept) and "
        "protect_report.json; the originals are never modified, and a setting that could write over one "
        "is refused.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="photos and/or folders of photos")
    parser.add_argument("-o", "--out", type=Path, default=Path("protected"), help="output folder (default: ./protected)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="NullSwap checkpoint (default: $NULLSWAP_CHECKPOINT, else the shipped results/offline/generator.pt)")
    parser.add_argument("--refine", type=int, nargs="?", const=DEFAULT_STEPS, default=0, metavar="K",
                        help="after the generator's one pass, K steps of per-face optimisation against the "
                        "recognizers it was trained on, robust to re-detection, resizing and JPEG "
                        f"(--refine alone: {DEFAULT_STEPS}; ~0.1 s per step and face on a CPU; default: off)")
    parser.add_argument("--psnr", type=float, default=None,
                        help="the fidelity budget in dB: the generator's L2 budget and, with --refine, the lowest "
                        f"PSNR of each face after rounding (default: the generator's own; {defaults.psnr} for "
                        "refinement, the paper's operating point; lower = stronger and more visible)")
    parser.add_argument("--ssim", type=float, default=defaults.ssim,
                        help="with --refine: lowest SSIM of each face (default: %(default)s)")
    parser.add_argument("--suffix", default="_protected",
                        help="added to each output file name; when two inputs would share a name (a.jpg, a.png) "
                        "both keep their extension: a.jpg_protected.png, a.png_protected.png")
    parser.add_argument("--largest-only", action="store_true", help="cloak only the largest face of each photo")
    parser.add_argument("--detector", default="mtcnn", choices=["mtcnn", "dlib"])
    parser.add_argument("--detect-side", type=int, default=DEFAULT_DETECT_SIDE,
                        help="search faces on a copy at most this many pixels long (0: full size); faces smaller "
                        "than ~20 px in that copy are missed")
    parser.add_argument("--max-megapixels", type=float, default=DEFAULT_MAX_MEGAPIXELS,
                        help="refuse photos above this size (checked before decoding)")
    parser.add_argument("--metadata", choices=["strip", "keep"], default="strip",
                        help="EXIF metadata (camera, time, GPS) of the originals: strip (default) or keep; the "
                        "ICC colour profile is always kept")
    parser.add_argument("--png-level", type=int, default=DEFAULT_PNG_LEVEL, choices=range(10), metavar="0-9",
                        help="zlib level of the output PNGs: lossless at every level; higher = smaller files, "
                        "slower (default: %(default)s; 6 is Pillow's usual level, about 3× slower on a 12-MP photo)")
    parser.add_argument("--seed", type=int, default=0,
                        help="mixed with each photo's content into its noise seed (same photo, same output)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo photos whose output already exists (never an input photo)")
    parser.add_argument("--verify", action="store_true",
                        help="after saving, re-read each protected photo and report per face the identity cosine "
                        "clean vs protected under offline recognizers (both re-detected by an independent "
                        "detector), how far it dropped and whether it fell under each recognizer's threshold")
    parser.add_argument("--verify-recognizers", default=None,
                        help="comma-separated recognizers for --verify (default: dlib,sface,mobilefacenet)")
    return parser


def _settings(args: argparse.Namespace, options: ProtectOptions) -> dict[str, object]:
    return {"suffix": args.suffix, "detector": options.detector, "detect_side": options.detect_side,
            "max_megapixels": options.max_megapixels, "metadata": args.metadata, "seed": options.seed,
            "seed_rule": "per photo: sha256(content sha256 / --seed)", "all_faces": options.all_faces,
            "png_level": options.png_level}


def _release_large_blocks() -> None:
    """Have glibc's malloc give every block of 1 MB or more back to the system when it is freed.

    By default glibc raises that threshold each time a large block is freed, up to 32 MB, and from then on
    keeps freed photo-sized buffers (a decoded 12-MP photo, a detector's feature maps) in its heap: the
    process then holds a few hundred MB it no longer uses, photo after photo.  Fixing the threshold at
    1 MB keeps a run's memory at one photo's working set (measured by benchmarks.tools.protect_speed).
    Other C libraries have their own allocators: nothing to do there."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(ctypes.c_int(-3), ctypes.c_int(1 << 20))   # M_MMAP_THRESHOLD = -3
    except (OSError, AttributeError):
        return


def main(argv: list[str] | None = None) -> int:
    from nullswap.weights import MissingWeightsError

    args = build_parser().parse_args(argv)
    _release_large_blocks()
    options = ProtectOptions(overwrite=args.overwrite, all_faces=not args.largest_only, detector=args.detector,
                             detect_side=args.detect_side or None, max_megapixels=args.max_megapixels,
                             keep_metadata=args.metadata == "keep", seed=args.seed, png_level=args.png_level)
    try:
        if args.refine < 0:
            raise ValueError("--refine takes a number of steps ≥ 0")
        make_plan(args.inputs, args.out, args.suffix)  # refuse unsafe settings before loading anything
        cloak = NullSwapCloak.from_checkpoint(args.checkpoint or default_checkpoint(), args.device, args.seed,
                                              target_psnr=args.psnr)
        refiner = None
        if args.refine:
            from nullswap.refine import RefineConfig, Refiner

            config = RefineConfig(steps=args.refine, ssim=args.ssim,
                                  **({} if args.psnr is None else {"psnr": args.psnr}))
            refiner = Refiner(config, cloak.recognizers or None, str(cloak.device))
        verifier = None
        if args.verify:
            from nullswap.verify import DEFAULT_RECOGNIZERS, Verifier

            names = [n.strip() for n in (args.verify_recognizers or ",".join(DEFAULT_RECOGNIZERS)).split(",")
                     if n.strip()]
            verifier = Verifier(names, str(cloak.device), trained_against=cloak.recognizers)
        settings = _settings(args, options)
        if verifier is not None:
            settings["verify"] = verifier.describe()
        outcomes, report = protect_files(args.inputs, args.out, cloak, suffix=args.suffix, options=options,
                                         verifier=verifier, settings=settings, refiner=refiner)
    except (FileNotFoundError, PlanError, MissingWeightsError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the report in the output folder lists every photo and which are done",
              file=sys.stderr)
        return 130
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status not in ("protected", "skipped_existing"):
            print(f"  {outcome.status:10s} {outcome.source}: {outcome.message}", file=sys.stderr)
        for note in outcome.notes:
            if not note.startswith(("no EXIF", "EXIF metadata")):
                print(f"  note       {outcome.source}: {note}", file=sys.stderr)
    if verifier is not None:
        from nullswap.verify import format_table

        checked = [(Path(o.source).name, o.verify) for o in outcomes if o.verify]
        if checked:
            print(format_table(checked, verifier, refined=refiner is not None))
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no photos"
    print(f"{summary}; report: {report}")
    return 0 if counts.get("protected", 0) + counts.get("skipped_existing", 0) == len(outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
