"""Show what a swapper does: a grid of source / target / result on the offline test faces.

``python -m benchmarks.tools.swap_grid [--swapper landmark] [--pairs 8] [--seed 0] [--out results/swaps]``
writes ``<out>/<swapper>_grid.png`` and ``<out>/README.md`` (the command, the pairs, each pair's outcome,
the swapper's description, the git commit and the wall time).  The pairs are those of Table 3
(:func:`benchmarks.pairs.sample_pairs`: seeded, different identities).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from benchmarks.pairs import sample_pairs
from benchmarks.report.figures import swap_grid
from benchmarks.report.formatting import made_with
from benchmarks.store import git_state, now_iso
from nullswap.atomic import write_text
from nullswap.data.base import FaceSet
from nullswap.images import to_uint8
from nullswap.provenance import REPO_ROOT


def make_swap_grid(swapper_name: str, faces: FaceSet, n_pairs: int, seed: int, out: Path) -> dict[str, object]:
    """Swap ``n_pairs`` seeded pairs of ``faces`` and write the grid; returns what the README records."""
    import swappers

    swapper = swappers.load(swapper_name)
    pairs = sample_pairs(faces.identities, n_pairs, seed)
    sources = faces.tensor([s for s, _ in pairs])
    targets = faces.tensor([t for _, t in pairs])
    start = time.perf_counter()
    result = swapper.swap(sources, targets)
    seconds = time.perf_counter() - start
    swapped = to_uint8(result.images)
    rows = [
        (faces.images[s], faces.images[t], swapped[i] if result.status[i] == "ok" else None, result.status[i])
        for i, (s, t) in enumerate(pairs)
    ]
    kind = swapper.describe().get("kind", "")
    path = swap_grid(rows, out / f"{swapper_name}_grid.png", title=f"{swapper_name}: {kind}")
    return {
        "image": path.name,
        "swapper": swapper.describe(),
        "dataset": {"name": faces.name, "faces": len(faces), "identities": len(set(faces.identities))},
        "seed": seed,
        "pairs": [
            {
                "source": faces.keys[s],
                "target": faces.keys[t],
                "status": result.status[i],
                "message": result.messages[i],
            }
            for i, (s, t) in enumerate(pairs)
        ],
        "swap_seconds": round(seconds, 2),
        "git": git_state(),
        "created": now_iso(),
    }


def write_readme(record: dict[str, object], out: Path, command: str) -> Path:
    pairs = record["pairs"]
    ok = sum(p["status"] == "ok" for p in pairs)
    swapper = record["swapper"]
    lines = [
        f"# Face swaps by `{swapper['name']}`",
        "",
        f"`{record['image']}`: {len(pairs)} seeded source–target pairs (different identities) from the "
        f"{record['dataset']['name']} set ({record['dataset']['faces']} faces, "
        f"{record['dataset']['identities']} identities), each row source | target | result.",
        f"The swapper is a {swapper.get('kind')}.",
        f"{ok} of {len(pairs)} pairs swapped; the others show their outcome instead of a result.",
        "",
        *made_with(command),
        f"Swap time {record['swap_seconds']} s for {len(pairs)} pairs on the CPU; "
        f"git {(record['git'] or {}).get('commit')}; {record['created']}.",
        "",
        "| source | target | outcome |",
        "|---|---|---|",
        *[f"| {p['source']} | {p['target']} | {p['status']}{': ' + p['message'] if p['message'] else ''} |"
          for p in pairs],
        "",
        "Provenance (JSON):",
        "",
        "```json",
        json.dumps(record, indent=1, default=str),
        "```",
        "",
    ]
    path = out / "README.md"
    write_text(path, "\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools.swap_grid", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--swapper", default="landmark")
    parser.add_argument("--split", default="test", help="split of the offline sample set")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "swaps")
    args = parser.parse_args(argv)
    from nullswap.data.sample import load_sample

    faces = load_sample(args.split)
    record = make_swap_grid(args.swapper, faces, args.pairs, args.seed, args.out)
    command = "python -m benchmarks.tools.swap_grid " + shlex.join(argv if argv is not None else sys.argv[1:])
    readme = write_readme(record, args.out, command.strip())
    print(f"wrote {args.out / record['image']} and {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
