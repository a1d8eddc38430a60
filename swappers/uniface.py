"""``uniface``: UniFace (Xu et al., ECCV'22), run in its own environment through the upstream runner.

The driver imports the upstream's ``generate_swap`` module and uses its own ``Model`` (StyleMapGAN
encoder and the global-attention generator) with the hyper-parameters stored in the checkpoint, in
half precision on a GPU exactly like the upstream's script, with its input transform (256 px,
[-1, 1]).  UniFace has no detector: it expects pre-aligned CelebA-HQ/FFHQ-style crops, which is the
canonical crop's framing, so the crop is sent as it is (256 px) and the result is the swapped crop.
The custom CUDA ops of its StyleGAN2 code compile at import: the environment carries ninja, nvcc (CUDA 10.1,
matching its torch 1.4) and gcc 7 (nvcc 10.1 accepts gcc <= 8), the runner puts its ``bin/`` first on PATH
and ``CUDA_HOME`` at it.  torch 1.4 / CUDA 10.1 cannot build for or run on Ampere or Hopper GPUs (sm_80,
sm_90): see the environments table in ``docs/upstream-environments.md``.  ``device=cpu`` is refused.
"""

from __future__ import annotations

from typing import ClassVar

from nullswap.upstream import UpstreamSpec, WeightSpec
from swappers import register_swapper
from swappers._external import DRIVERS_DIR, ENVS_DIR, ExternalSwapper

SPEC = UpstreamSpec(
    name="uniface",
    repo_url="https://github.com/xc-csc101/UniFace",
    commit="05f15e57668e7ce30399233c2456bb0f4cb35055",
    env_kind="conda",
    env_spec=ENVS_DIR / "uniface.conda.yaml",
    driver=DRIVERS_DIR / "drive_uniface.py",
    python_version="3.6",
    licence="none stated in the repository (its code carries StyleMapGAN's CC BY-NC 4.0 header)",
    weights=(
        WeightSpec(
            "{checkpoint}",
            "https://drive.google.com/file/d/1H3DHfld_M5F940bZMuoT_bDkW3tJZvbq/view",
            fetch="gdrive",
            member="500000.pt",
            note="the 'swap' model of the upstream README (Google Drive), at the path of the `checkpoint` option "
            "(default session/swap/checkpoints/500000.pt); no sha256 published",
        ),
    ),
    # training/op compiles fused_bias_act and upfirdn2d at import with ninja + nvcc (the environment's own,
    # CUDA_HOME at the environment) and a host compiler nvcc 10.1 accepts (the environment's gcc 7)
    builds_cuda_ops=True,
    requires_cuda=True,
)


@register_swapper("uniface")
class UniFace(ExternalSwapper):
    name = "uniface"
    kind = "learned (UniFace 256, StyleMapGAN-based, no separate identity network)"
    spec = SPEC
    frame_size = 256
    frame = "pre-aligned 256 crop (CelebA-HQ/FFHQ framing) in [-1, 1], fp16; no detection, no paste-back"

    #: the driver's options and their defaults (a config file or a run overrides them)
    default_options: ClassVar[dict[str, object]] = {"checkpoint": "session/swap/checkpoints/500000.pt", "batch_size": 8}
