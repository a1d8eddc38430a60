"""``antiforgery``: Anti-Forgery (Wang et al., IJCAI'22), Lab-space optimisation through StarGAN, run upstream.

Per image, Adam (lr 1e-4, 100 steps) on a perturbation of the a/b channels of Lab, clamped to ±0.05 in
the upstream's Lab units, maximising the change of StarGAN's (CelebA 256) output — the upstream function
``utils.lab_attack``.  Its frame is 256 px in [-1, 1], so the canonical crop goes in as is and the
realised change comes back unchanged in size.  The target attributes are built from each face's own
attributes, which the upstream reads from CelebA labels; our faces have none, so the driver predicts
them with StarGAN's discriminator (see ``baselines/drivers/drive_antiforgery.py``).

Like the upstream, the driver attacks StarGAN in train mode (its InstanceNorm layers normalise each
image with its own statistics).  The upstream's Lab-to-RGB conversion has an undefined (NaN) gradient
at exact-black pixels, which turns a whole image into NaN after one Adam step; the driver zeroes those
gradient entries (``nan_gradients: zero``; ``upstream`` keeps the published behaviour).  The method
promises an a/b change of at most ``epsilon`` in its Lab units; the driver checks it on each image
before rounding (where the upstream's ``color_space`` is importable) and fails an image that breaks it.
"""

from __future__ import annotations

from typing import ClassVar

from baselines import register_protector
from baselines._external import DRIVERS_DIR, ENVS_DIR, ExternalProtector
from nullswap.upstream import UpstreamSpec, WeightSpec

STARGAN_ZIP = "https://www.dropbox.com/s/zdq6roqf63m0v5f/celeba-256x256-5attrs.zip?dl=1"

SPEC = UpstreamSpec(
    name="antiforgery",
    repo_url="https://github.com/AbstractTeen/AntiForgery",
    commit="e66f0bea13ce437070969e60367334c6ab6cd430",
    env_kind="venv",
    env_spec=ENVS_DIR / "antiforgery.requirements.txt",
    driver=DRIVERS_DIR / "drive_antiforgery.py",
    python_version="3.10",
    licence="none stated (no licence file in the repository)",
    weights=(
        WeightSpec(
            "stargan_celeba_256/models/200000-G.ckpt",
            STARGAN_ZIP,
            fetch="zip",
            note="StarGAN CelebA 256x256 (5 attributes); the upstream's `bash download.sh "
            "pretrained-celeba-256x256` fetches the same zip",
        ),
        WeightSpec(
            "stargan_celeba_256/models/200000-D.ckpt",
            STARGAN_ZIP,
            fetch="zip",
            note="the same zip; its attribute classifier supplies the faces' own attributes",
        ),
    ),
)


@register_protector("antiforgery")
class AntiForgery(ExternalProtector):
    name = "antiforgery"
    threat_model = "grey-box"
    kind = "iterative"
    spec = SPEC
    frame_size = 256

    #: the driver's options and their defaults (a config file or a run overrides them)
    default_options: ClassVar[dict[str, object]] = {
        "iterations": 100,
        "epsilon": 0.05,
        "model_dir": "stargan_celeba_256/models",
        "resume_iters": 200000,
        "batch_size": 1,
        "nan_gradients": "zero",
    }
