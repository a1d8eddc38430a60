"""``diffswap``: DiffSwap (Zhao et al., CVPR'23), run in its own environment through the upstream runner.

DiffSwap's inference is a hard-coded chain (``pipeline.py``): dlib 68-point landmarks, an FFHQ crop at
256 px, TF-MTCNN detection, an affine fit, face parsing, the diffusion swap (DDIM, 200 steps, identity
from an iresnet100 Glint360K ArcFace loaded with ``strict=False``), mask repair and paste-back, over
every image in ``data/portrait_jpg/{source,target}`` of the checkout.  The driver runs that chain as
the upstream wrote it, one pair at a time (it swaps every source with every target), in the checkout's
own ``data/`` folder, which it clears before each pair.  A source or target in which the upstream's own
dlib detection finds no face is reported ``no_face`` before the chain runs; the chain's users report that
it breaks when its MTCNN step fails, which is reported as an upstream failure with the log.  The chain's
children start ``python`` by name: the runner puts this environment's ``bin/`` first on PATH and the driver
passes that on.  On a timeout the chain's whole process group is killed.  The checkout's tracked
``data/portrait_jpg`` is put back afterwards.  The seed reaches every process of the chain, its DDIM sampler
included, through a ``sitecustomize`` on the chain's path (see the driver); the upstream's code is unchanged.
"""

from __future__ import annotations

from typing import ClassVar

from nullswap.upstream import UpstreamSpec, WeightSpec
from swappers import register_swapper
from swappers._external import DRIVERS_DIR, ENVS_DIR, ExternalSwapper

TSINGHUA = "https://cloud.tsinghua.edu.cn/d/962ccd4b243442a3a144/?p=%2Fcheckpoints%2FDiffSwap&mode=list"
SPEC = UpstreamSpec(
    name="diffswap",
    repo_url="https://github.com/wl-zhao/DiffSwap",
    commit="c316952f425347a3fd5a7e8bcc624958be34265f",
    env_kind="conda",
    env_spec=ENVS_DIR / "diffswap.conda.yaml",
    driver=DRIVERS_DIR / "drive_diffswap.py",
    python_version="3.8",
    licence="none stated in the repository",
    weights=(
        WeightSpec("checkpoints/diffswap.pth", TSINGHUA,
                   note="Tsinghua cloud folder of the upstream README (download in a browser); no sha256 published"),
        WeightSpec("checkpoints/glint360k_r100.pth", TSINGHUA,
                   note="the iresnet100 ArcFace (Glint360K) of the same folder; no sha256 published"),
        WeightSpec(
            "checkpoints/shape_predictor_68_face_landmarks.dat",
            TSINGHUA,
            sha256="fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
            note="dlib's 68-point predictor: the same file as this project's offline asset "
            "(`python -m nullswap.weights prepare dlib_shape_predictor_68`, then copy it here)",
        ),
    ),
    # ddim.py registers its buffers on "cuda", faceswap_portrait.py sets up NCCL and DDP, pipeline.py forces GPU 0
    requires_cuda=True,
)
#: seconds to start the driver and load the upstream's modules, beyond the pairs' own time
START_S = 600.0


@register_swapper("diffswap")
class DiffSwap(ExternalSwapper):
    name = "diffswap"
    kind = "learned (DiffSwap, masked diffusion with ArcFace identity)"
    spec = SPEC
    frame_size = 256
    frame = "dlib FFHQ crop at 256, TF-MTCNN affine, DDIM 200 steps, paste-back into the whole image"

    def __init__(self, *, timeout: float | None = None, chunk: int = 4, **options: object) -> None:
        """Each pair reloads the whole chain (TensorFlow, MTCNN, the diffusion model) and runs 200 DDIM steps,
        1.5–2 min on a GPU: ``chunk`` pairs go to the driver per call, and the call's ``timeout`` defaults to
        ``chunk × pair_timeout`` plus the start, so a slow chunk is never cut while its pairs are in time."""
        pair_timeout = float(options.get("pair_timeout", self.default_options["pair_timeout"]))  # type: ignore[arg-type]
        if timeout is None:
            timeout = max(1, int(chunk)) * pair_timeout + START_S
        super().__init__(timeout=timeout, chunk=chunk, **options)

    #: the driver's options and their defaults (a config file or a run overrides them)
    default_options: ClassVar[dict[str, object]] = {"pair_timeout": 1800}

    def describe(self) -> dict[str, object]:
        """The provenance says how the seed reaches the chain's DDIM sampler, which the upstream leaves unseeded."""
        return {**super().describe(), "seeded": True,
                "seeded_how": "every Python process of the chain seeded at start-up by the driver's sitecustomize "
                              "(random at once, numpy and torch on import): seed + pair index; upstream code unchanged"}
