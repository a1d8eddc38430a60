"""The NullSwap checkpoint: its format, building the networks it describes, loading a generator, and
cloaking in the generator's own frame.

Both :mod:`nullswap.train` (writes checkpoints, evaluates as the protector will) and
:mod:`nullswap.protect` (reads them) stand on this module, so neither imports the other.

Two kinds of file carry a generator:

* a *training checkpoint* (``format = CHECKPOINT_FORMAT``): generator, discriminator, optimisers, DLW
  and RNG state — what ``resume=true`` needs;
* a *generator file* (``format = GENERATOR_FORMAT``): the generator weights and the config only, small
  enough to ship (``results/offline/generator.pt``).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from nullswap.model import Discriminator, ModelConfig, NullSwapGenerator

CHECKPOINT_FORMAT = "nullswap-checkpoint-v1"
GENERATOR_FORMAT = "nullswap-generator-v1"


def _plain(cfg: dict | DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)


def build_generator(model_cfg: dict | DictConfig) -> NullSwapGenerator:
    return NullSwapGenerator(ModelConfig.from_dict(_plain(model_cfg)))


def build_discriminator(model_cfg: dict | DictConfig) -> Discriminator:
    cfg = ModelConfig.from_dict(_plain(model_cfg))
    return Discriminator(cfg.disc_width, cfg.disc_layers)


def cloak_at_resolution(
    generator: torch.nn.Module, clean: torch.Tensor, resolution: int, rng: torch.Generator | None = None
) -> torch.Tensor:
    """Run ``generator`` in its own ``resolution`` frame and bring only its *change* back to the size of
    ``clean`` (bilinear upsampling), so a model trained on small crops still protects full crops."""
    if clean.shape[-1] == resolution and clean.shape[-2] == resolution:
        return generator(clean, rng)
    small = F.interpolate(clean, size=resolution, mode="bilinear", antialias=True, align_corners=False)
    change = generator(small, rng) - small
    energy = change.pow(2).mean(dim=(1, 2, 3), keepdim=True)
    change = F.interpolate(change, size=clean.shape[-2:], mode="bilinear", align_corners=False)
    if getattr(generator, "budget_psnr", None) is not None:
        # Upsampling smooths the change and lowers its energy a little, so a budgeted generator would
        # protect full crops slightly above its PSNR target: keep the mean square it chose in its own
        # frame (never more than its budget).
        upsampled = change.pow(2).mean(dim=(1, 2, 3), keepdim=True)
        change = change * torch.sqrt(energy / (upsampled + 1e-12))
    return (clean + change).clamp(0.0, 1.0)


def generator_file(state: dict) -> dict:
    """The shippable part of a training checkpoint: generator weights, config, recognizers, step."""
    return {
        "format": GENERATOR_FORMAT,
        "step": int(state.get("step", 0)),
        "config": state["config"],
        "recognizers": list(state.get("recognizers") or []),
        "training": state.get("training") or {},
        "generator": state["generator"],
    }


def load_generator(path: str | Path) -> tuple[NullSwapGenerator, int, dict]:
    """Generator, its training resolution and the stored config, from either kind of file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"NullSwap checkpoint not found: {path}\n"
            "  train one with `make demo` (offline default) or `python -m nullswap.train`, "
            "or pass --checkpoint PATH / set NULLSWAP_CHECKPOINT"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("format") not in (CHECKPOINT_FORMAT, GENERATOR_FORMAT):
        raise ValueError(f"{path} is not a NullSwap checkpoint (format {state.get('format')!r})")
    generator = build_generator(state["config"]["model"])
    generator.load_state_dict(state["generator"])
    resolution = int(state["config"]["train"].get("resolution") or 256)
    return generator, resolution, state


def training_facts(path: str | Path) -> dict:
    """What the checkpoint at ``path`` was trained on, from the file alone: recognizers, steps done (and
    planned), batch size, resolution, data set, split and size, perceptual loss, identity-loss weighting,
    whether training was a rehearsal, and the status of every weight file training read (stand-ins
    included).  Older files lack the counts and weight statuses; their facts say ``None``."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if state.get("format") not in (CHECKPOINT_FORMAT, GENERATOR_FORMAT):
        raise ValueError(f"{path} is not a NullSwap checkpoint (format {state.get('format')!r})")
    config = state.get("config") or {}
    train, data = config.get("train") or {}, config.get("data") or {}
    recorded = state.get("training") or {}
    return {
        "recognizers": list(state.get("recognizers") or config.get("recognizers") or []),
        "steps": int(state.get("step", 0)),
        "steps_planned": recorded.get("total_steps"),
        "epochs": train.get("epochs"),
        "batch_size": train.get("batch_size"),
        "resolution": train.get("resolution"),
        "data": {"name": data.get("name"), "split": data.get("split", "train"),
                 "max_images": data.get("max_images"), **(recorded.get("data") or {})},
        "perceptual": (config.get("loss") or {}).get("perceptual"),
        "dlw": (config.get("dlw") or {}).get("strategy"),
        "rehearsal": bool(config.get("rehearsal", False)),
        "weight_files": recorded.get("weight_files") or {},
    }
