"""Rehearsal builder for neuralchen/SimSwap @ bd7b768 (a GPU rehearsal: ``make rehearse-gpu``).

* The generator: the upstream's ``Generator_Adain_Upsample(input_nc=3, output_nc=3, latent_size=512,
  n_blocks=9, deep=False)`` (``models/fs_model.py:59``; ``fs_networks`` for crop 224, ``fs_networks_512`` for
  512) with random weights, its state dict at ``checkpoints/people/latest_net_G.pth`` (or
  ``checkpoints/512/550000_net_G.pth``), loaded by ``base_model.py:68``.
* ArcFace: ``fs_model.py:64-65`` unpickles a whole module.  The upstream's own class cannot be built from
  source (``models/arcface_models.py:34,37`` call a ``conv3x3`` defined nowhere), so a small module of plain
  ``torch.nn`` layers mapping (B, 3, 112, 112) to (B, 512) is pickled in its place — the plumbing is the same.
* The detector cannot be random: insightface 0.2.1 routes an ONNX graph as SCRFD by its outputs and it must find
  faces.  The builder copies a real SCRFD ONNX (with keypoints) from the option ``scrfd_source`` to
  ``insightface_func/models/antelope/scrfd_10g_bnkps.onnx``; without it the builder stops and says so.
"""

import torch
from builder_protocol import arguments, copy_in, parent, report

ARCFACE = "arcface_model/arcface_checkpoint.tar"
DETECTOR = "insightface_func/models/antelope/scrfd_10g_bnkps.onnx"
GENERATORS = {224: ("models.fs_networks", "checkpoints/people/latest_net_G.pth"),
              512: ("models.fs_networks_512", "checkpoints/512/550000_net_G.pth")}


def main():
    options, _, report_path = arguments()
    crop = int(options.get("crop_size", 224))
    torch.manual_seed(0)
    module, path = GENERATORS[crop]
    networks = __import__(module, fromlist=["Generator_Adain_Upsample"])
    generator = networks.Generator_Adain_Upsample(input_nc=3, output_nc=3, latent_size=512, n_blocks=9, deep=False)
    torch.save(generator.state_dict(), parent(path))
    arcface = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(32, 64, 3, stride=2, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(64 * 16, 512),
    ).eval()
    torch.save(arcface, parent(ARCFACE))
    copy_in(options, "scrfd_source", DETECTOR, "a real SCRFD face detector (ONNX with keypoints)")
    report(report_path, [path, ARCFACE, DETECTOR], crop_size=crop,
           generator=module + ".Generator_Adain_Upsample, random",
           arcface="torch.nn layers (the upstream's ArcFace class cannot be built), pickled, random",
           detector="a real SCRFD ONNX copied from " + str(options.get("scrfd_source")))


if __name__ == "__main__":
    main()
