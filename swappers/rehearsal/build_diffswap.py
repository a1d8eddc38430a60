"""Rehearsal builder for wl-zhao/DiffSwap @ c316952 (a GPU rehearsal: ``make rehearse-gpu``).

* The identity network first (``FaceEmbedder`` loads it while the diffusion model is being built): the
  upstream's ``get_model`` for ``src/arcface_torch/configs/glint360k_r100.py`` (an iresnet100) with random
  weights, its state dict at ``checkpoints/glint360k_r100.pth`` (``face_embedder.py:20-24``).
* The diffusion model: ``instantiate_from_config`` of ``configs/diffswap/default-project.yaml``'s ``model``
  (a ``LatentDiffusion``; ``ckpt_path: null``, loss ``torch.nn.Identity``: nothing is downloaded), saved as
  ``{"state_dict": ...}`` at ``checkpoints/diffswap.pth`` (the path of ``tests/face_swap.sh``).
* dlib's 68-point landmark model cannot be random: it is copied from the option ``shape_predictor_source``
  (the project has the same file as an offline asset).
"""

import torch
from builder_protocol import arguments, copy_in, parent, report

DIFFSWAP = "checkpoints/diffswap.pth"
IDENTITY = "checkpoints/glint360k_r100.pth"
LANDMARKS = "checkpoints/shape_predictor_68_face_landmarks.dat"


def main():
    options, _, report_path = arguments()
    torch.manual_seed(0)
    copy_in(options, "shape_predictor_source", LANDMARKS, "dlib's 68-point shape predictor")
    from src.arcface_torch.backbones import get_model
    from src.arcface_torch.utils.utils_config import get_config

    cfg = get_config("src/arcface_torch/configs/glint360k_r100.py")
    identity = get_model(cfg.network, dropout=0.0, fp16=cfg.fp16, num_features=cfg.embedding_size)
    torch.save(identity.state_dict(), parent(IDENTITY))
    from ldm.util import instantiate_from_config
    from omegaconf import OmegaConf

    model = instantiate_from_config(OmegaConf.load("configs/diffswap/default-project.yaml")["model"])
    torch.save({"state_dict": model.state_dict()}, parent(DIFFSWAP))
    report(report_path, [DIFFSWAP, IDENTITY, LANDMARKS],
           networks="LatentDiffusion (default-project.yaml) and iresnet100 (glint360k_r100), random",
           landmarks="dlib's real 68-point model, copied from " + str(options.get("shape_predictor_source")))


if __name__ == "__main__":
    main()
