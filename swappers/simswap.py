"""``simswap``: SimSwap (Chen et al., ACM MM'20), run in its own environment through the upstream runner.

The driver calls the upstream's own single-image pipeline (``test_wholeimage_swapsingle.py``): insightface
``antelope`` detection, alignment to SimSwap's 224 ArcFace template (×2 of the 112 insightface template),
the source identity from the pickled ArcFace module at 112 px (ImageNet-normalised), the generator on
the target crop in [0, 1], and the upstream's paste-back into the whole target.  We send the canonical
crop at 512 px so that the detector sees the face at its working scale.

Known breakages it absorbs or names: ``arcface_checkpoint.tar`` is a pickled whole module — it loads
only with the checkout on ``sys.path`` (the driver runs inside the checkout, so
``models.arcface_models`` resolves) and with the torch the upstream pins; the insightface ``antelope``
detector link of the upstream README is dead (the two ONNX files must be placed by hand); the generator
is built on ``cuda:0`` unconditionally, so a GPU is required (``device=cpu`` is refused before anything runs).
``crop_size=512`` switches generator and alignment together, as the upstream's script does.
"""

from __future__ import annotations

from typing import ClassVar

from nullswap.upstream import UpstreamSpec, WeightSpec
from swappers import register_swapper
from swappers._external import DRIVERS_DIR, ENVS_DIR, ExternalSwapper

RELEASE = "https://github.com/neuralchen/SimSwap/releases/download/1.0"
#: the generators the upstream publishes: 224 ('people', latest) and 512 ('512' beta, epoch 550000)
CROP_SIZES = (224, 512)
SPEC = UpstreamSpec(
    name="simswap",
    repo_url="https://github.com/neuralchen/SimSwap",
    commit="bd7b7686a17f41dd11cfcd5d82f7e4c5eb94b780",
    env_kind="venv",
    env_spec=ENVS_DIR / "simswap.requirements.txt",
    driver=DRIVERS_DIR / "drive_simswap.py",
    python_version="3.8",
    licence="CC BY-NC 4.0 (academic research use only)",
    weights=(
        WeightSpec(
            "arcface_model/arcface_checkpoint.tar",
            f"{RELEASE}/arcface_checkpoint.tar",
            fetch="url",
            note="a pickled whole ArcFace module: keep the .tar as it is (do not extract); no sha256 published",
        ),
        WeightSpec(
            "checkpoints/people/latest_net_G.pth",
            f"{RELEASE}/checkpoints.zip",
            fetch="zip",
            note="the 224 'people' generator inside checkpoints.zip; no sha256 published",
            when={"crop_size": 224},
        ),
        WeightSpec(
            "checkpoints/512/550000_net_G.pth",
            "https://github.com/neuralchen/SimSwap/releases/download/512_beta/512.zip",
            fetch="zip",
            note="the 512 beta generator (upstream preparation.md: unzip 512.zip into ./checkpoints); "
            "no sha256 published",
            when={"crop_size": 512},
        ),
        WeightSpec(
            "insightface_func/models/antelope/scrfd_10g_bnkps.onnx",
            "https://github.com/deepinsight/insightface/tree/master/python-package (model pack 'antelope')",
            note="the upstream README's OneDrive link is dead; take scrfd_10g_bnkps.onnx from a copy of "
            "insightface's 'antelope' pack and place it here (the pack's glintr100.onnx is loaded too when "
            "present, but never used: only the detector is); no sha256 published",
        ),
    ),
    requires_cuda=True,
)


@register_swapper("simswap")
class SimSwap(ExternalSwapper):
    name = "simswap"
    kind = "learned (SimSwap 224, identity injection from ArcFace)"
    spec = SPEC
    frame_size = 512
    frame = "insightface antelope detection, 224 ArcFace template (x2), paste-back into the whole image"

    #: the driver's options and their defaults (a config file or a run overrides them); ``crop_size`` 512 is the
    #: upstream's 512 beta generator with its FFHQ alignment (``name``/``which_epoch``/alignment follow it)
    default_options: ClassVar[dict[str, object]] = {"crop_size": 224, "det_thresh": 0.6}

    def validate_options(self, options: dict[str, object]) -> dict[str, object]:
        """The upstream ships a generator for 224 and one for 512 only; any other size is refused here."""
        options = super().validate_options(options)
        if options["crop_size"] not in CROP_SIZES:
            raise ValueError(f"simswap: crop_size must be one of {CROP_SIZES} (the upstream's generators), "
                             f"not {options['crop_size']!r}")
        return options
