"""``dfrap``: DF-RAP (Qu et al., TIFS'24), PGD through ComGAN and the victim model, run upstream.

PGD (10 steps of 0.01, ε 0.05 in [-1, 1] units, random start) whose forward pass goes through ComGAN — a
learned, differentiable stand-in for social-network recompression — and then through the victim.  Two
modes: ``simswap`` (default) perturbs the *source* face so that SimSwap's swap moves away from the
clean-source swap, the same setting as NullSwap; ``stargan`` attacks the attribute editor.  The frame is
256 px in [-1, 1]: the canonical crop goes in as is.  The upstream's SimSwap code hard-codes
``cuda:0``, so the ``simswap`` mode needs a GPU (``device=cpu`` is refused before anything runs);
``stargan`` also runs on the CPU.  ``steps`` is the PGD step count the upstream's ``adv_attack`` leaves at
its default of 10 (rehearsals use fewer).  An image whose change breaks the ε bound fails with the numbers.

Environments: ``baselines/envs/dfrap.conda.yaml`` pins the upstream's torch 1.10.2+cu113, whose kernels
stop at sm_86 (A100 yes, H100/H200 no); ``baselines/envs/dfrap.modern.conda.yaml`` is torch 2.2.2 with
CUDA 12.1 (sm_50 … sm_90), not the upstream's pin.
"""

from __future__ import annotations

from typing import ClassVar

from baselines import register_protector
from baselines._external import DRIVERS_DIR, ENVS_DIR, ExternalProtector
from nullswap.upstream import UpstreamSpec, WeightSpec

COMGAN_PERTG = "https://drive.google.com/file/d/18opqlLzn5MCTboKkwcq58sSdkxKE3WOU/view"
SIMSWAP_OLD = "https://drive.google.com/drive/folders/1tGqLa87UogpMoDbzthsclIcL52-jHbk_"
STARGAN_ZIP = "https://www.dropbox.com/s/zdq6roqf63m0v5f/celeba-256x256-5attrs.zip?dl=1"

SPEC = UpstreamSpec(
    name="dfrap",
    repo_url="https://github.com/ZOMIN28/DF_RAP",
    commit="f2f95b0c3eef8d454941d6c62b487c6c63ab1106",
    env_kind="conda",
    env_spec=ENVS_DIR / "dfrap.conda.yaml",
    driver=DRIVERS_DIR / "drive_dfrap.py",
    python_version="3.8",
    licence="CC BY-NC-SA 4.0 (per the upstream README; academic research use only)",
    # SimSwap's code hard-codes cuda:0 (fs_model.py, base_options.py); StarGAN mode runs anywhere
    requires_cuda=("simswap",),
    weights=(
        WeightSpec(
            "checkpoints/ComGAN/ComG_model.pt",
            COMGAN_PERTG,
            fetch="gdrive",
            when={"comgan": True},
            note="'ComGAN & PertG' link of the upstream README: a pickled dict of whole modules "
            "(ComG, ComG_woj), loaded only inside the upstream environment (only with comgan: true)",
        ),
        WeightSpec(
            "SimSwap/arcface_model/arcface_checkpoint.tar",
            SIMSWAP_OLD,
            fetch="gdrive",
            modes=("simswap",),
            note="'SimSwap (old)' link of the upstream README: a pickled whole ArcFace module (do not extract)",
        ),
        WeightSpec(
            "SimSwap/checkpoints/people/latest_net_G.pth",
            SIMSWAP_OLD,
            fetch="gdrive",
            modes=("simswap",),
            note="the same folder: SimSwap's 224 generator ('people')",
        ),
        WeightSpec(
            "checkpoints/stargan_celeba_256/models/200000-G.ckpt",
            STARGAN_ZIP,
            fetch="zip",
            modes=("stargan",),
            note="StarGAN CelebA 256x256, the upstream README's Dropbox link",
        ),
    ),
)


@register_protector("dfrap")
class DFRAP(ExternalProtector):
    name = "dfrap"
    threat_model = "grey-box"
    kind = "iterative"
    spec = SPEC
    frame_size = 256
    modes = ("simswap", "stargan")

    #: the driver's options and their defaults (a config file or a run overrides them)
    default_options: ClassVar[dict[str, object]] = {
        "epsilon": 0.05, "comgan": True, "balance": 1.0, "c_trg": [1.0, 0.0, 0.0, 1.0, 1.0], "steps": 10,
    }

    def frame_bound(self) -> tuple[float, str]:
        """PGD projects onto |change| <= epsilon in [-1, 1] units (attack.py), i.e. epsilon / 2 in [0, 1]."""
        epsilon = float(self.options["epsilon"])
        return epsilon / 2.0, f"epsilon {epsilon} in [-1, 1] units"
