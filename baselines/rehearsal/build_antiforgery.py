"""Rehearsal builder for Anti-Forgery: random-weight StarGAN generator and discriminator where upstream loads them.

The upstream's ``main.py`` builds ``model.Generator(64, 5, 6)`` and ``model.Discriminator(256, 64, 5, 6)``
and loads the state dicts ``<model_dir>/<resume_iters>-G.ckpt`` and ``-D.ckpt``
(``stargan_celeba_256/models/200000-*.ckpt``, unpacked there by ``download.sh``).  This builds the same
classes with random initial weights (seeded) and saves their state dicts there, running statistics of
the InstanceNorm layers included, as StarGAN's own training saves them.
"""

import torch
from builder_protocol import arguments, parent, report


def main():
    options, _, report_path = arguments()
    from model import Discriminator, Generator  # the upstream's classes, from the checkout on sys.path

    model_dir = options.get("model_dir", "stargan_celeba_256/models")
    iters = int(options.get("resume_iters", 200000))
    torch.manual_seed(0)
    paths = []
    for suffix, network in (("G", Generator(64, 5, 6)), ("D", Discriminator(256, 64, 5, 6))):
        path = f"{model_dir}/{iters}-{suffix}.ckpt"
        torch.save(network.state_dict(), parent(path))
        paths.append(path)
    report(report_path, paths, model="model.Generator(64, 5, 6), model.Discriminator(256, 64, 5, 6)",
           format="state dicts", torch=torch.__version__)


if __name__ == "__main__":
    main()
