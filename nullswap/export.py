"""Export the shippable generator of a training run (``python -m nullswap.export``).

A training checkpoint carries the discriminator, both optimisers and every RNG state — what resuming
needs, ten times what protecting needs.  This writes the generator alone (``generator.pt``, format
``nullswap-generator-v1``, loadable by ``nullswap protect --checkpoint`` and
``baselines.load("nullswap", checkpoint=...)``) and ``generator.json`` beside it: sha256, size, parameter
count, the full training config, the step, the sha256 of the checkpoint it came from and the command
that trained it — so a committed model says where it came from.

Example::

    python -m nullswap.export runs/offline/checkpoints/last.pt results/offline \\
        --command "python -m nullswap.train experiment=offline run_dir=runs/offline"
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from nullswap.assets import sha256_of
from nullswap.atomic import atomic_path, write_text
from nullswap.checkpoint import CHECKPOINT_FORMAT, generator_file, load_generator
from nullswap.model import count_parameters

MAX_BYTES = 2 * 1024 * 1024


def export_generator(checkpoint: Path, out_dir: Path, command: str = "", notes: str = "") -> Path:
    """Write ``out_dir/generator.pt`` and ``out_dir/generator.json``; returns the ``.pt`` path."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{checkpoint} is not a NullSwap training checkpoint")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "generator.pt"
    payload = generator_file(state)
    payload["generator"] = {k: v.clone() for k, v in payload["generator"].items()}
    with atomic_path(target) as temporary:
        torch.save(payload, temporary)
    size = target.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{target} is {size} bytes, over the {MAX_BYTES} a committed generator may take")
    generator, resolution, _ = load_generator(target)
    record = {
        "file": target.name,
        "format": payload["format"],
        "sha256": sha256_of(target),
        "bytes": size,
        "parameters": count_parameters(generator),
        "resolution": resolution,
        "step": payload["step"],
        "recognizers": payload["recognizers"],
        "source_checkpoint_sha256": sha256_of(checkpoint),
        "command": command,
        "exported": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "notes": notes,
        "config": payload["config"],
    }
    write_text(out_dir / "generator.json", json.dumps(record, indent=2))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nullswap.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="training checkpoint (…/checkpoints/last.pt)")
    parser.add_argument("out_dir", type=Path, help="folder for generator.pt and generator.json")
    parser.add_argument("--command", default="", help="the command that trained it (stored as provenance)")
    parser.add_argument("--notes", default="")
    args = parser.parse_args(argv)
    try:
        path = export_generator(args.checkpoint, args.out_dir, args.command, args.notes)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size:,} bytes) and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
