"""Protect faces with a trained NullSwap generator: aligned crops (API) and real photos (CLI).

``nullswap protect`` takes photos or folders as they come — unaligned, any size, several faces — and
for each face: detects it, aligns it to the canonical 256 crop, cloaks it in one forward pass, and
pastes only the change back into the full-resolution photo, so pixels away from faces stay
bit-identical.  Results are written as PNG (a lossy format would erase part of the cloak) next to a
JSON report; originals are never overwritten, and a re-run skips photos already done (resume).

A generator trained at a lower resolution than the crop (e.g. the 128 px CPU demo model) cloaks the
crop in its own frame and the change is brought back to 256 by upsampling, exactly like the baseline
adapters do for their upstream frames.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from nullswap.assets import cache_root
from nullswap.atomic import write_text
from nullswap.checkpoint import cloak_at_resolution, load_generator
from nullswap.data.base import to_uint8
from nullswap.runtime import resolve_device

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


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
    def __call__(self, images: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
        """Cloak crops; deterministic for a given ``seed`` (the adaptive noise is seeded)."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) RGB crops, got {tuple(images.shape)}")
        generator = torch.Generator(device=self.device).manual_seed(self.seed)
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
@dataclass
class PhotoOutcome:
    source: str
    status: str                      # protected | no_face | unreadable | too_small | skipped_existing
    output: str | None = None
    faces: int = 0
    message: str = ""
    boxes: list[list[float]] = field(default_factory=list)


def collect_photos(inputs: list[Path]) -> list[Path]:
    photos: list[Path] = []
    for item in inputs:
        if item.is_dir():
            photos += sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif item.exists():
            photos.append(item)
        else:
            raise FileNotFoundError(f"no such file or folder: {item}")
    return photos


def output_path(photo: Path, inputs: list[Path], out_dir: Path, suffix: str) -> Path:
    """Mirror the input's sub-folders under ``out_dir``; never the input path itself."""
    relative = photo.name
    for root in inputs:
        if root.is_dir() and root in photo.parents:
            relative = str(photo.relative_to(root))
            break
    target = out_dir / Path(relative).with_name(Path(relative).stem + suffix + ".png")
    if target.resolve() == photo.resolve():
        raise ValueError(f"refusing to overwrite the original photo {photo}")
    return target


def protect_photo(photo: np.ndarray, cloak: NullSwapCloak, detector: object, all_faces: bool = True
                  ) -> tuple[np.ndarray, list]:
    """Cloak the faces of one RGB uint8 photo; returns the protected photo and the aligned faces."""
    from nullswap.faces.align import align_faces, paste_back
    from nullswap.faces.detect import NoFaceError

    faces = align_faces(photo, detector)
    if not faces:
        raise NoFaceError("no face found")
    if not all_faces:
        faces = [max(faces, key=lambda f: float((f.box[2] - f.box[0]) * (f.box[3] - f.box[1])))]
    crops = torch.from_numpy(np.stack([f.crop for f in faces])).permute(0, 3, 1, 2).float() / 255.0
    protected = to_uint8(cloak(crops))
    result = photo
    for face, crop in zip(faces, protected):
        result = paste_back(result, crop, face.matrix, clean_crop=face.crop)
    return result, faces


def protect_files(inputs: list[Path], out_dir: Path, cloak: NullSwapCloak, *, suffix: str = "_protected",
                  overwrite: bool = False, all_faces: bool = True, detector: str = "mtcnn") -> list[PhotoOutcome]:
    from nullswap.data.base import save_png
    from nullswap.faces.detect import (
        FaceInputError,
        ImageTooSmallError,
        NoFaceError,
        get_detector,
        load_image,
    )

    photos = collect_photos(inputs)
    face_detector = get_detector(detector)
    outcomes: list[PhotoOutcome] = []
    for photo_path in tqdm(photos, desc="protect", unit="photo"):
        target = output_path(photo_path, inputs, out_dir, suffix)
        if target.exists() and not overwrite:
            outcomes.append(PhotoOutcome(str(photo_path), "skipped_existing", str(target)))
            continue
        try:
            photo = load_image(photo_path)
            protected, faces = protect_photo(photo, cloak, face_detector, all_faces)
        except NoFaceError as exc:
            outcomes.append(PhotoOutcome(str(photo_path), "no_face", message=str(exc)))
            continue
        except ImageTooSmallError as exc:
            outcomes.append(PhotoOutcome(str(photo_path), "too_small", message=str(exc)))
            continue
        except FaceInputError as exc:
            outcomes.append(PhotoOutcome(str(photo_path), "unreadable", message=str(exc)))
            continue
        save_png(protected, target)
        outcomes.append(PhotoOutcome(str(photo_path), "protected", str(target), len(faces),
                                     boxes=[[round(float(v), 1) for v in f.box] for f in faces]))
    return outcomes


def write_report(out_dir: Path, outcomes: list[PhotoOutcome], cloak: NullSwapCloak) -> Path:
    report = out_dir / "protect_report.json"
    previous = json.loads(report.read_text()).get("photos", []) if report.exists() else []
    merged = {item["source"]: item for item in previous}
    for outcome in outcomes:
        if outcome.status != "skipped_existing" or outcome.source not in merged:
            merged[outcome.source] = asdict(outcome)
    payload = {"generator": cloak.describe(), "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "photos": sorted(merged.values(), key=lambda item: item["source"])}
    write_text(report, json.dumps(payload, indent=2))
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nullswap protect",
        description="Cloak the faces in photos so that face recognizers and face swappers lose the identity. "
        "Writes <name>_protected.png files; the originals are never modified.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="photos and/or folders of photos")
    parser.add_argument("-o", "--out", type=Path, default=Path("protected"), help="output folder (default: ./protected)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="NullSwap checkpoint (default: $NULLSWAP_CHECKPOINT or the one `make demo` trains)")
    parser.add_argument("--suffix", default="_protected", help="added to each output file name")
    parser.add_argument("--largest-only", action="store_true", help="cloak only the largest face of each photo")
    parser.add_argument("--detector", default="mtcnn", choices=["mtcnn", "dlib"])
    parser.add_argument("--seed", type=int, default=0, help="seed of the adaptive noise (reproducible output)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--overwrite", action="store_true", help="redo photos whose output already exists")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cloak = NullSwapCloak.from_checkpoint(args.checkpoint or default_checkpoint(), args.device, args.seed)
        outcomes = protect_files(args.inputs, args.out, cloak, suffix=args.suffix, overwrite=args.overwrite,
                                 all_faces=not args.largest_only, detector=args.detector)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = write_report(args.out, outcomes, cloak)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status not in ("protected", "skipped_existing"):
            print(f"  {outcome.status:10s} {outcome.source}: {outcome.message}", file=sys.stderr)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no photos"
    print(f"{summary}; report: {report}")
    return 0 if counts.get("protected", 0) + counts.get("skipped_existing", 0) == len(outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
