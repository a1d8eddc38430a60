"""``e4s``: E4S (Liu et al., CVPR'23), run in its own environment through the upstream runner.

The driver loads the upstream's ``scripts/face_swap.py`` as a module, builds its pre-trained models with
the upstream's own initialisers (FaceVid2Vid re-enactment, GPEN restoration, the face parser, the RGI
network ``Net3``) as its ``__main__`` block does, and calls its ``faceSwapping_pipeline`` on each pair
without re-cropping (``need_crop=False``, the upstream's default for well-aligned faces).  E4S works on
1024 px FFHQ-aligned faces: the canonical crop has that framing and is sent at 1024 px.  Its users
report poor results on unaligned input, which this framing avoids; a face the pipeline cannot parse
fails as an upstream failure.  The upstream builds everything on ``cuda:0`` by default (``device=cpu`` is refused)
and compiles its StyleGAN2 CUDA ops at import (the environment brings ninja, nvcc 11.3 and gcc 9).  Building
its face parser downloads torchvision's ResNet-18 through torch hub: that file is declared below like every
other weight, and the driver finds it through ``TORCH_HOME``, so no run depends on a download.
"""

from __future__ import annotations

from typing import ClassVar

from nullswap.upstream import UpstreamSpec, WeightSpec
from swappers import register_swapper
from swappers._external import DRIVERS_DIR, ENVS_DIR, ExternalSwapper

ALIYUN = "https://public-vigen-video.oss-cn-shanghai.aliyuncs.com/robin/models"
#: torch hub's cache for this upstream, inside the checkout (the driver's TORCH_HOME)
TORCH_HOME = "pretrained_ckpts/torch_home"
SPEC = UpstreamSpec(
    name="e4s",
    repo_url="https://github.com/e4s2022/e4s",
    commit="d30bdc7180fdfad20722d86cbe12893dc39f3e02",
    env_kind="conda",
    env_spec=ENVS_DIR / "e4s.conda.yaml",
    driver=DRIVERS_DIR / "drive_e4s.py",
    python_version="3.8",
    licence="MIT",
    weights=(
        WeightSpec(
            "pretrained_ckpts/e4s/iteration_300000.pt",
            "https://drive.google.com/file/d/1cyJTYRO5G4kcugAcgSJ7cMsE96GzV_hq/view",
            fetch="gdrive",
            note="the RGI model of the upstream INSTALLATION.md; no sha256 published",
        ),
        WeightSpec(
            "pretrained_ckpts/face_parsing/79999_iter.pth",
            "https://drive.google.com/open?id=154JgKpzCPW82qINcVieuPH3fZ2e0P812",
            fetch="gdrive",
            note="face-parsing.PyTorch BiSeNet (the default parser); no sha256 published",
        ),
        WeightSpec(
            "pretrained_ckpts/facevid2vid/00000189-checkpoint.pth.tar",
            "https://www.mediafire.com/folder/fcvtkn21j57bb/TalkingHead_Update",
            note="'Vox-256-New' of zhanglonghao1992's FaceVid2Vid (MediaFire folder: download by hand); "
            "no sha256 published",
        ),
        WeightSpec("pretrained_ckpts/gpen/weights/GPEN-BFR-512.pth", f"{ALIYUN}/GPEN-BFR-512.pth", fetch="url",
                   note="GPEN face restoration; no sha256 published"),
        WeightSpec("pretrained_ckpts/gpen/weights/realesrnet_x4.pth", f"{ALIYUN}/realesrnet_x4.pth", fetch="url",
                   note="GPEN's x4 super-resolution; no sha256 published"),
        WeightSpec("pretrained_ckpts/gpen/weights/RetinaFace-R50.pth", f"{ALIYUN}/RetinaFace-R50.pth", fetch="url",
                   note="GPEN's face detector; no sha256 published"),
        WeightSpec("pretrained_ckpts/gpen/weights/ParseNet-latest.pth", f"{ALIYUN}/ParseNet-latest.pth", fetch="url",
                   note="GPEN's face parser; no sha256 published"),
        WeightSpec(
            f"{TORCH_HOME}/hub/checkpoints/resnet18-5c106cde.pth",
            "https://download.pytorch.org/models/resnet18-5c106cde.pth",
            fetch="url",
            note="torchvision's published ImageNet ResNet-18 (about 45 MB), which the upstream's default face parser "
            "downloads through torch hub when it is built (src/pretrained/face_parsing/resnet.py:11,82-83); found "
            "here through TORCH_HOME (its values are then overwritten by 79999_iter.pth); no sha256 published "
            "beyond the 8 hex digits torch hub names the file by (5c106cde)",
        ),
    ),
    env_vars={"TORCH_HOME": "{checkout}/" + TORCH_HOME},
    # src/models/stylegan2/op (and GPEN's copy) compile CUDA ops at import: ninja, nvcc 11.3 and gcc 9 come
    # with the environment; the runner sets CUDA_HOME at it
    builds_cuda_ops=True,
    requires_cuda=True,
)


@register_swapper("e4s")
class E4S(ExternalSwapper):
    name = "e4s"
    kind = "learned (E4S 1024, regional GAN inversion with re-enactment)"
    spec = SPEC
    frame_size = 1024
    frame = "1024 FFHQ-aligned faces in [-1, 1]; mask-guided paste inside the aligned frame"

    #: the driver's options and their defaults (a config file or a run overrides them)
    default_options: ClassVar[dict[str, object]] = {"face_parser": "default"}
