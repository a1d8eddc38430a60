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

A generator trained at a lower resolution than the crop (e.g. the 128 px CPU demo model) cloaks the
crop in its own frame and the change is brought back to 256 by upsampling, exactly like the baseline
adapters do for their upstream frames.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

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
from nullswap.faces.photo import DEFAULT_MAX_MEGAPIXELS, PhotoTooLargeError, compose, read_photo, write_photo
from nullswap.images import to_uint8
from nullswap.protect_plan import IMAGE_SUFFIXES, PlanError, Planned, make_plan, photo_seed, sha256_file
from nullswap.protect_report import FINISHED_OK, ProtectReport
from nullswap.runtime import resolve_device
from nullswap.verify import DEFAULT_RECOGNIZERS, Verifier, format_table

__all__ = ["IMAGE_SUFFIXES", "NullSwapCloak", "ProtectOptions", "default_checkpoint", "main", "protect_files",
           "protect_photo"]


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


@dataclass
class ProtectOptions:
    overwrite: bool = False
    all_faces: bool = True
    detector: str = "mtcnn"
    detect_side: int | None = DEFAULT_DETECT_SIDE
    max_megapixels: float = DEFAULT_MAX_MEGAPIXELS
    keep_metadata: bool = False
    seed: int = 0


def find_faces(rgb: np.ndarray, detector: object, detect_side: int | None = DEFAULT_DETECT_SIDE) -> list[AlignedFace]:
    """The plausible faces of an RGB uint8 photo, left to right, aligned from a (downscaled) detection."""
    detections = plausible_faces(detect_faces(rgb, detector, max_side=detect_side))
    detections.sort(key=lambda d: (float(d.centre[0]), float(d.centre[1])))
    faces = []
    for d in detections:
        crop, matrix = align_face(rgb, d.landmarks)
        faces.append(AlignedFace(crop, matrix, d.landmarks, d.box, d.score))
    return faces


def paste_region(photo: np.ndarray, protected_crop: np.ndarray, face: AlignedFace) -> None:
    """:func:`~nullswap.faces.align.paste_back` on the part of ``photo`` the crop covers, in place —
    the same pixels as a full-photo paste, without full-photo float buffers (a 48 MP photo would need
    several GB)."""
    height, width = photo.shape[:2]
    size = protected_crop.shape[0]
    inverse = cv2.invertAffineTransform(np.asarray(face.matrix, dtype=np.float64))
    corners = np.array([[0.0, 0.0], [size, 0.0], [0.0, size], [size, size]])
    points = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = (max(0, int(np.floor(v)) - 2) for v in points.min(axis=0))
    x1, y1 = min(width, int(np.ceil(points[:, 0].max())) + 3), min(height, int(np.ceil(points[:, 1].max())) + 3)
    if x0 >= x1 or y0 >= y1:
        return
    matrix = np.array(face.matrix, dtype=np.float64)
    matrix[:, 2] += matrix[:, :2] @ np.array([x0, y0], dtype=np.float64)
    region = np.ascontiguousarray(photo[y0:y1, x0:x1])
    photo[y0:y1, x0:x1] = paste_back(region, protected_crop, matrix, clean_crop=face.crop)


def protect_photo(photo: np.ndarray, cloak: NullSwapCloak, detector: object, all_faces: bool = True, *,
                  detect_side: int | None = DEFAULT_DETECT_SIDE, seed: int | None = None
                  ) -> tuple[np.ndarray, list[AlignedFace]]:
    """Cloak the faces of one RGB uint8 photo; returns the protected photo and the aligned faces."""
    faces = find_faces(photo, detector, detect_side)
    if not faces:
        raise NoFaceError("no face found")
    if not all_faces:
        faces = [max(faces, key=lambda f: float((f.box[2] - f.box[0]) * (f.box[3] - f.box[1])))]
    crops = torch.from_numpy(np.stack([f.crop for f in faces])).permute(0, 3, 1, 2).float() / 255.0
    protected = to_uint8(cloak(crops, seed=seed))
    result = photo.copy()
    for face, crop in zip(faces, protected):
        paste_region(result, crop, face)
    return result, faces


def _owned(previous: dict | None, target: Path) -> bool:
    """Whether an earlier run of this program wrote ``target`` for this photo (per the report)."""
    return bool(previous) and previous.get("output") == str(target) and previous.get("status") in FINISHED_OK


def protect_one(item: Planned, cloak: NullSwapCloak, detector: object, options: ProtectOptions,
                report: ProtectReport, verifier: Verifier | None = None) -> PhotoOutcome:
    """Protect one planned photo; the report marks it ``working`` (with its output) before any write."""
    source, target = item.source, item.target
    sha = sha256_file(source)
    previous = report.previous(source)
    outcome = PhotoOutcome(str(source), "working", str(target), source_sha256=sha)
    if target.exists() and not options.overwrite:
        if _owned(previous, target) and previous.get("source_sha256") == sha:
            return PhotoOutcome(str(source), "skipped_existing", str(target), source_sha256=sha,
                                faces=int(previous.get("faces", 0)))
        if not _owned(previous, target):
            outcome.status, outcome.output = "output_exists", None
            outcome.message = (f"{target} exists and was not written by nullswap protect for this photo; "
                               "it was left alone (move it, choose another -o, or pass --overwrite)")
            return outcome
    earlier = list((previous or {}).get("earlier_outputs", []))
    if previous and previous.get("output") and previous["output"] != str(target):
        earlier.append(previous["output"])
    report.update(source, status="working", output=str(target), source_sha256=sha,
                  earlier_outputs=sorted(set(earlier)))
    outcome.output = None
    try:
        photo = read_photo(source, options.max_megapixels)
        outcome.photo = photo.describe()
        outcome.seed = photo_seed(sha, options.seed)
        protected, faces = protect_photo(photo.rgb, cloak, detector, options.all_faces,
                                         detect_side=options.detect_side, seed=outcome.seed)
    except PhotoTooLargeError as exc:
        outcome.status, outcome.message = "too_large", str(exc)
    except NoFaceError as exc:
        outcome.status, outcome.message = "no_face", str(exc)
    except ImageTooSmallError as exc:
        outcome.status, outcome.message = "too_small", str(exc)
    except FaceInputError as exc:
        outcome.status, outcome.message = "unreadable", str(exc)
    if outcome.status != "working":
        return outcome
    colour, alpha, notes = compose(photo, protected)
    notes += write_photo(target, photo, colour, alpha, options.keep_metadata)
    notes.append("EXIF metadata kept" if options.keep_metadata and photo.exif else
                 "EXIF metadata stripped (--metadata keep copies it)" if photo.exif else "no EXIF metadata")
    outcome.status, outcome.output, outcome.faces = "protected", str(target), len(faces)
    outcome.boxes = [[round(float(v), 1) for v in f.box] for f in faces]
    outcome.notes = photo.notes + notes
    if verifier is not None:
        saved = read_photo(target, max(options.max_megapixels, photo.rgb.size / 3e6))
        outcome.verify = verifier.check(photo.rgb, saved.rgb, [f.box for f in faces])
    return outcome


def protect_files(inputs: list[Path], out_dir: Path, cloak: NullSwapCloak, *, suffix: str = "_protected",
                  options: ProtectOptions | None = None, verifier: Verifier | None = None,
                  settings: dict[str, object] | None = None) -> tuple[list[PhotoOutcome], Path]:
    """Plan (refusing unsafe settings before anything is written), then protect photo by photo with
    the report rewritten after each one.  Returns the outcomes and the report path."""
    options = options or ProtectOptions()
    plan = make_plan(inputs, out_dir, suffix)
    report = ProtectReport(plan.report, {"generator": cloak.describe(), **(settings or {})})
    report.start(plan.photos, plan.excluded)
    detector = get_detector(options.detector)
    outcomes: list[PhotoOutcome] = []
    for item in tqdm(plan.photos, desc="protect", unit="photo"):
        outcome = protect_one(item, cloak, detector, options, report, verifier)
        outcomes.append(outcome)
        if outcome.status == "skipped_existing":
            continue  # the earlier entry (status protected, same content) stays as it was
        entry = {k: v for k, v in asdict(outcome).items() if v not in (None, [], {}, "") or k == "output"}
        report.update(item.source, **entry)
    report.finish()
    return outcomes, plan.report


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
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
    parser.add_argument("--seed", type=int, default=0,
                        help="mixed with each photo's content into its noise seed (same photo, same output)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo photos whose output already exists (never an input photo)")
    parser.add_argument("--verify", action="store_true",
                        help="after cloaking, report per face the identity cosine clean vs protected under "
                        "offline recognizers, both re-detected by an independent detector")
    parser.add_argument("--verify-recognizers", default=",".join(DEFAULT_RECOGNIZERS),
                        help="comma-separated recognizers for --verify (default: %(default)s)")
    return parser


def _settings(args: argparse.Namespace, options: ProtectOptions) -> dict[str, object]:
    return {"suffix": args.suffix, "detector": options.detector, "detect_side": options.detect_side,
            "max_megapixels": options.max_megapixels, "metadata": args.metadata, "seed": options.seed,
            "seed_rule": "per photo: sha256(content sha256 / --seed)", "all_faces": options.all_faces}


def main(argv: list[str] | None = None) -> int:
    from nullswap.weights import MissingWeightsError

    args = build_parser().parse_args(argv)
    options = ProtectOptions(overwrite=args.overwrite, all_faces=not args.largest_only, detector=args.detector,
                             detect_side=args.detect_side or None, max_megapixels=args.max_megapixels,
                             keep_metadata=args.metadata == "keep", seed=args.seed)
    try:
        make_plan(args.inputs, args.out, args.suffix)  # refuse unsafe settings before loading anything
        cloak = NullSwapCloak.from_checkpoint(args.checkpoint or default_checkpoint(), args.device, args.seed)
        verifier = None
        if args.verify:
            names = [n.strip() for n in args.verify_recognizers.split(",") if n.strip()]
            verifier = Verifier(names, str(cloak.device), trained_against=cloak.recognizers)
        settings = _settings(args, options)
        if verifier is not None:
            settings["verify"] = verifier.describe()
        outcomes, report = protect_files(args.inputs, args.out, cloak, suffix=args.suffix, options=options,
                                         verifier=verifier, settings=settings)
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
        checked = [(Path(o.source).name, o.verify) for o in outcomes if o.verify]
        if checked:
            print(format_table(checked, verifier))
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no photos"
    print(f"{summary}; report: {report}")
    return 0 if counts.get("protected", 0) + counts.get("skipped_existing", 0) == len(outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
