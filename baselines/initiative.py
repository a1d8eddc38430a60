"""``initiative``: Initiative Defense (Huang et al., AAAI'21), a perturbation generator run upstream.

One forward pass of the released perturbation generator PG (a U-Net ending in tanh) at 128 px in
StarGAN's [-1, 1] range: ``x' = clamp(x + eps · PG(x), -1, 1)``.  The canonical 256 crop is resized
to 128 (the same face framing at the generator's resolution), protected by the upstream driver, and
the change is upsampled ×2 and added to the 256 crop.  ``eps`` defaults to 0.05 ([-1, 1] units), the
value in the released checkpoint's name (``30000-PG-005.ckpt``); the upstream README's test command
passes 0.03 while loading that same checkpoint.  An image whose change in the 128 frame exceeds eps
fails with the numbers instead of being taken as protected.
"""

from __future__ import annotations

from typing import ClassVar

from baselines import register_protector
from baselines._external import DRIVERS_DIR, ENVS_DIR, ExternalProtector
from nullswap.upstream import UpstreamSpec, WeightSpec

SPEC = UpstreamSpec(
    name="initiative",
    repo_url="https://github.com/shikiw/initiative-defense-for-deepfake",
    commit="fd9a518e4b53e0887520db6cd75fc38ac4cd28dd",
    env_kind="venv",
    env_spec=ENVS_DIR / "initiative.requirements.txt",
    driver=DRIVERS_DIR / "drive_initiative.py",
    python_version="3.10",
    licence="MIT",
    weights=(
        WeightSpec(
            "checkpoints/30000-PG-005.ckpt",
            "https://drive.google.com/drive/folders/1oPzxXOP4k-X4w9GEdf2a9Pnh4Xz_Qdcx",
            fetch="gdrive",
            note="the 'pretrained_model' Google Drive folder of the upstream README; the upstream test "
            "code loads exactly this file (a state dict of model.Attackmodel)",
        ),
    ),
)


@register_protector("initiative")
class Initiative(ExternalProtector):
    name = "initiative"
    threat_model = "grey-box"
    kind = "generator"
    spec = SPEC
    frame_size = 128

    #: the driver's options and their defaults (a config file or a run overrides them)
    default_options: ClassVar[dict[str, object]] = {"eps": 0.05, "checkpoint": "checkpoints/30000-PG-005.ckpt", "batch_size": 16}

    def frame_bound(self) -> tuple[float, str]:
        """``clamp(x + eps · tanh(·), -1, 1)`` moves no pixel by more than eps in [-1, 1] units: eps / 2 in [0, 1]."""
        eps = float(self.options["eps"])
        return eps / 2.0, f"eps {eps} in [-1, 1] units"
