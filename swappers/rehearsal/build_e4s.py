"""Rehearsal builder for e4s2022/e4s @ d30bdc7 (a GPU rehearsal: ``make rehearse-gpu``).

Every file the pipeline loads, from the upstream's own classes with random weights (the audit's list):

* ``Net3(opts)`` with the pipeline's default options: ``{"state_dict", "latent_avg": zeros(18, 512)}``;
* FaceVid2Vid from the tracked ``vox-256.yaml`` (SPADE generator): ``{"generator", "kp_detector", "he_estimator"}``;
* GPEN: ``FullGenerator(512, 512, 8, 2, narrow=1)`` (plain state dict), ``RRDBNet(3, 3, num_feat=32,
  num_block=23, num_grow_ch=32, scale=4)`` as ``{"params_ema": ...}``, ``RetinaFace(cfg_re50, 'test')``,
  ``ParseNet(512, 512, 32, 64, 19, norm_type='bn', relu_type='LeakyReLU', ch_range=[32, 256])``;
* the face parser ``BiSeNet(n_classes=19)`` (its module moves constants to CUDA at import, so the builder needs
  a GPU), and torchvision's ResNet-18 at the torch hub path under ``TORCH_HOME`` that the adapter declares.

Importing ``src.models.networks`` compiles the StyleGAN2 CUDA ops: the builder needs nvcc and ninja, like the
driver.
"""

import os
import sys

import torch
import yaml
from builder_protocol import arguments, parent, report

NET3 = "pretrained_ckpts/e4s/iteration_300000.pt"
PARSER = "pretrained_ckpts/face_parsing/79999_iter.pth"
VID2VID = "pretrained_ckpts/facevid2vid/00000189-checkpoint.pth.tar"
GPEN = "pretrained_ckpts/gpen/weights/"
RESNET18 = "pretrained_ckpts/torch_home/hub/checkpoints/resnet18-5c106cde.pth"


def main():
    _, _, report_path = arguments()
    torch.manual_seed(0)
    written = []

    def save(obj, path):
        torch.save(obj, parent(path))
        written.append(path)

    import torchvision

    save(torchvision.models.resnet18().state_dict(), RESNET18)  # before the parser's module asks torch hub
    os.environ["TORCH_HOME"] = os.path.join(os.getcwd(), "pretrained_ckpts", "torch_home")
    sys.argv = ["face_swap.py"]
    from src.models.networks import Net3
    from src.options.swap_options import SwapFacePipelineOptions

    opts = SwapFacePipelineOptions().parse()
    save({"state_dict": Net3(opts).state_dict(), "latent_avg": torch.zeros(18, 512)}, NET3)
    from src.pretrained.face_vid2vid.modules.generator import OcclusionAwareSPADEGenerator
    from src.pretrained.face_vid2vid.modules.keypoint_detector import HEEstimator, KPDetector

    with open("pretrained_ckpts/facevid2vid/vox-256.yaml") as handle:
        params = yaml.load(handle, Loader=yaml.FullLoader)["model_params"]
    common = params["common_params"]
    save({"generator": OcclusionAwareSPADEGenerator(**params["generator_params"], **common).state_dict(),
          "kp_detector": KPDetector(**params["kp_detector_params"], **common).state_dict(),
          "he_estimator": HEEstimator(**params["he_estimator_params"], **common).state_dict()}, VID2VID)
    from src.pretrained.gpen.face_detect.data import cfg_re50
    from src.pretrained.gpen.face_detect.facemodels.retinaface import RetinaFace
    from src.pretrained.gpen.face_model.gpen_model import FullGenerator
    from src.pretrained.gpen.face_parse.parse_model import ParseNet
    from src.pretrained.gpen.sr_model.rrdbnet_arch import RRDBNet

    save(FullGenerator(512, 512, 8, 2, narrow=1, device="cpu").state_dict(), GPEN + "GPEN-BFR-512.pth")
    save({"params_ema": RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=32, num_block=23, num_grow_ch=32,
                                scale=4).state_dict()}, GPEN + "realesrnet_x4.pth")
    save(RetinaFace(cfg=cfg_re50, phase="test").state_dict(), GPEN + "RetinaFace-R50.pth")
    save(ParseNet(512, 512, 32, 64, 19, norm_type="bn", relu_type="LeakyReLU", ch_range=[32, 256]).state_dict(),
         GPEN + "ParseNet-latest.pth")
    from src.pretrained.face_parsing.model import BiSeNet

    save(BiSeNet(n_classes=19).state_dict(), PARSER)
    report(report_path, written, networks="Net3, FaceVid2Vid (SPADE), GPEN x4, BiSeNet, ResNet-18: random")


if __name__ == "__main__":
    main()
