"""Process-level runtime state shared by training, protection and benchmarks: the device, seeding and
the RNG state that a resumable run checkpoints.

One module so that every entry point resolves ``device=auto`` and seeds the same way."""

from __future__ import annotations

import random
import warnings

import numpy as np
import torch
import torch.distributed as dist


def device_name(name: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; any other value is kept, but a CUDA device asked
    for where torch sees none is refused here, before any work, rather than deep inside a run."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name} was asked for but torch sees no CUDA device; use device=cpu or auto")
    return name


def resolve_device(name: str) -> torch.device:
    """:func:`device_name` as a :class:`torch.device`."""
    return torch.device(device_name(name))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) from one integer."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """Every global RNG state of this process, in a form ``torch.load(weights_only=True)`` accepts."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured (from CPU tensors, whatever ``map_location`` moved them to)."""
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    np_state = state["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].cpu().numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["gauss"]))
    random.setstate(state["python"])


def all_rng_states() -> list[dict]:
    """:func:`rng_state` of every process in rank order (one entry without ``torch.distributed``).

    A collective: under DistributedDataParallel every rank must call it.  Each rank draws its own noise,
    so a resumed run is identical to an uninterrupted one only if every rank gets its own state back."""
    state = rng_state()
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [state]
    states: list = [None] * dist.get_world_size()
    dist.all_gather_object(states, state)
    return states


def restore_rank_rng(checkpoint: dict, rank: int, world_size: int, seed: int) -> None:
    """Give this rank its own RNG state back from a checkpoint written by :func:`all_rng_states`.

    A checkpoint from another number of processes (or one holding only rank 0's state) cannot be
    resumed exactly: rank 0 restores the saved main state, the other ranks are seeded from
    (seed, rank, step) so that they still draw different noise, and a warning says so."""
    per_rank = checkpoint.get("rng_per_rank") or []
    if len(per_rank) == world_size:
        set_rng_state(per_rank[rank])
        return
    if world_size == 1:
        set_rng_state(checkpoint["rng"])
        return
    warnings.warn(
        f"checkpoint holds RNG states of {len(per_rank) or 1} process(es), this run has {world_size}: "
        "the resumed run continues with fresh per-rank seeds and will not match an uninterrupted one",
        stacklevel=2,
    )
    if rank == 0:
        set_rng_state(checkpoint["rng"])
    else:
        seed_everything(seed + 1_000_003 * rank + 7_919 * int(checkpoint.get("step", 0)))
