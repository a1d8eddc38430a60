"""``infoswap``: InfoSwap (Gao et al., CVPR'21), run in its own environment through the upstream runner.

The driver imports the upstream's ``inference_demo`` module and calls its own ``inference`` function on
each pair: MTCNN detection and alignment to 512 crops in [-1, 1], the identity from ArcFace IR-SE50 at
128 px behind the information bottleneck, the AII generator, and the upstream's Poisson paste-back.  The
models are built exactly as the module's command-line entry builds them (``--ib_mode smooth``).

The weights are gated: the authors send them on request by e-mail (see the upstream USAGE.md), so
``benchmarks.setup infoswap`` can only say where each file goes.  The upstream joins its output path with
``os.path.join(save_dir, prefix, '_gen.', suffix)``, a folder that never exists; the driver lets the
upstream create it instead of editing the upstream's code.  Which generator, decoder and bottleneck files
are needed follows ``ib_mode`` (``smooth``: ``w_kernel_smooth/ckpt_ks_*``, ``no_smooth``:
``wo_kernel_smooth/ckpt_*``), as in the upstream's ``ROOT`` table.

The upstream chooses its device by itself (``cuda:0`` whenever a GPU is visible, ``preprocess/mtcnn.py:10``);
the runner hides every GPU from it for ``device=cpu``, so a CPU run stays on the CPU.
"""

from __future__ import annotations

from typing import ClassVar

from nullswap.upstream import UpstreamSpec, WeightSpec
from swappers import register_swapper
from swappers._external import DRIVERS_DIR, ENVS_DIR, ExternalSwapper

REQUEST = (
    "https://github.com/GGGHSL/InfoSwap-master/blob/master/USAGE.md "
    "(request the models by e-mail from an institutional address, as that page describes)"
)
GATED = "gated: sent by the authors on request only; no sha256 published"
SPEC = UpstreamSpec(
    name="infoswap",
    repo_url="https://github.com/GGGHSL/InfoSwap-master",
    commit="0484ef5fcb35bf811f2c3ec52ecf77ccade822db",
    env_kind="venv",
    env_spec=ENVS_DIR / "infoswap.requirements.txt",
    driver=DRIVERS_DIR / "drive_infoswap.py",
    python_version="3.7",
    licence="CC BY-NC-SA 4.0",
    weights=(
        WeightSpec("modules/model_128_ir_se50.pth", REQUEST, note="ArcFace IR-SE50 (128 px); " + GATED),
        *(
            WeightSpec(f"checkpoints_512/{folder}/{prefix}{part}.pth", REQUEST, note=f"{what} ({mode}); " + GATED,
                       when={"ib_mode": mode})
            for mode, folder, prefix in (("smooth", "w_kernel_smooth", "ckpt_ks_"),
                                         ("no_smooth", "wo_kernel_smooth", "ckpt_"))
            for part, what in (("G", "AII generator"), ("E", "attribute decoder"), ("I", "information bottleneck"))
        ),
    ),
)


@register_swapper("infoswap")
class InfoSwap(ExternalSwapper):
    name = "infoswap"
    kind = "learned (InfoSwap 512, information-bottleneck identity)"
    spec = SPEC
    frame_size = 512
    frame = "MTCNN detection, 512 crops in [-1, 1], Poisson paste-back"

    #: the driver's options and their defaults (a config file or a run overrides them)
    default_options: ClassVar[dict[str, object]] = {"ib_mode": "smooth"}
