"""Rehearsal builder for DF-RAP: random-weight ComGAN, StarGAN and SimSwap files where upstream loads them.

* ComGAN (when the ``comgan`` option is on): the demo notebook loads ``checkpoints/ComGAN/ComG_model.pt``
  with ``torch.load`` as a dict of whole modules, ``{'ComG': ..., 'ComG_woj': ...}``.  Both are
  ``net.ComGAN.ComGenerator`` (the first with differentiable JPEG, ``isJPEG=True``), pickled here from
  the checkout so that they unpickle as ``net.ComGAN.ComGenerator`` (its constructor reads
  ``data/qf.txt`` relative to the checkout, as the upstream's does);
* ``stargan`` mode: ``deepfakes.stargan_model`` loads the state dict of ``net.stargan.Generator()`` from
  ``checkpoints/stargan_celeba_256/models/200000-G.ckpt``;
* ``simswap`` mode: SimSwap's ``fs_model`` unpickles ``SimSwap/arcface_model/arcface_checkpoint.tar``,
  ``{'model': DataParallel(ResNet)}`` with ``models.models`` importable from ``SimSwap/`` (as
  ``deepfakes.py`` puts it on ``sys.path``), and loads the state dict of
  ``Generator_Adain_Upsample(3, 3, 512, 9, deep=False)`` from ``SimSwap/checkpoints/people/latest_net_G.pth``.
  The ArcFace stand-in uses the upstream's ``ResNet`` of ``IRBlock`` at depth [2, 2, 2, 2] (the published
  network is deeper; the depth does not change the plumbing and keeps the file small).  ``IRBlock`` calls a
  ``conv3x3`` that the upstream's ``models.py`` does not define (the published pickle never runs the
  constructor); the builder supplies the 3x3 convolution the call names.
"""

import sys

import torch
from builder_protocol import arguments, parent, report

COMGAN = "checkpoints/ComGAN/ComG_model.pt"
STARGAN = "checkpoints/stargan_celeba_256/models/200000-G.ckpt"
ARCFACE = "SimSwap/arcface_model/arcface_checkpoint.tar"
SIMSWAP_G = "SimSwap/checkpoints/people/latest_net_G.pth"


def main():
    options, mode, report_path = arguments()
    mode = mode or "simswap"
    torch.manual_seed(0)
    paths, models = [], []
    if options.get("comgan", True):
        from net.ComGAN import ComGenerator  # the upstream's class, from the checkout on sys.path

        bundle = {"ComG": ComGenerator(isJPEG=True).eval(), "ComG_woj": ComGenerator(isJPEG=False).eval()}
        torch.save(bundle, parent(COMGAN))
        paths.append(COMGAN)
        models.append("net.ComGAN.ComGenerator x2 (pickled modules)")
    if mode == "stargan":
        import net.stargan as stargan

        torch.save(stargan.Generator(conv_dim=64, c_dim=5, repeat_num=6).state_dict(), parent(STARGAN))
        paths.append(STARGAN)
        models.append("net.stargan.Generator (state dict)")
    elif mode == "simswap":
        sys.path.insert(0, "SimSwap/")  # as deepfakes.py does, so the pickle names models.models.ResNet
        import models.models as arc
        from models.fs_networks import Generator_Adain_Upsample

        if not hasattr(arc, "conv3x3"):
            # IRBlock.__init__ calls a conv3x3 that the upstream's models.py never defines (the published
            # pickle unpickles without running __init__); the 3x3 convolution its name and call say
            arc.conv3x3 = lambda planes_in, planes_out, stride=1: torch.nn.Conv2d(
                planes_in, planes_out, kernel_size=3, stride=stride, padding=1, bias=False)
        arcface = torch.nn.DataParallel(arc.ResNet(arc.IRBlock, [2, 2, 2, 2], use_se=True).eval())
        torch.save({"model": arcface}, parent(ARCFACE))
        generator = Generator_Adain_Upsample(input_nc=3, output_nc=3, latent_size=512, n_blocks=9, deep=False)
        torch.save(generator.state_dict(), parent(SIMSWAP_G))
        paths += [ARCFACE, SIMSWAP_G]
        models.append("SimSwap models.models.ResNet(IRBlock) in DataParallel (pickled), "
                      "Generator_Adain_Upsample (state dict)")
    else:
        raise SystemExit(f"unknown DF-RAP mode {mode!r} (simswap or stargan)")
    report(report_path, paths, model="; ".join(models), mode=mode, torch=torch.__version__)


if __name__ == "__main__":
    main()
