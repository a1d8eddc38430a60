"""Rehearsal builder for xc-csc101/UniFace @ 05f15e5 (a GPU rehearsal: ``make rehearse-gpu``).

``generate_swap.Model`` reads its hyper-parameters from a module-level ``args``; the builder sets them to
``train_swap.py``'s defaults (size 256, latent 512 x 32 x 32, channel multiplier 2, LayerNorm), builds the
upstream's ``Model()`` with random weights and saves ``{"train_args", "g_ema", "e_ema"}`` (the keys of
``train_swap.py:576-588``) at the path of the ``checkpoint`` option.  Importing ``generate_swap`` compiles the
StyleGAN2 CUDA ops (``training/op``): the builder needs the environment's nvcc and ninja, like the driver.
"""

import argparse

import torch
from builder_protocol import arguments, parent, report

TRAIN_DEFAULTS = dict(size=256, latent_channel_size=512, latent_spatial_size=32, lr_mul=1, channel_multiplier=2,
                      normalize_mode="LayerNorm", small_generator=False)


def main():
    options, _, report_path = arguments()
    checkpoint = str(options.get("checkpoint", "session/swap/checkpoints/500000.pt"))
    torch.manual_seed(0)
    import generate_swap  # the upstream module (compiles its CUDA ops at import)

    train_args = argparse.Namespace(**TRAIN_DEFAULTS)
    generate_swap.args = argparse.Namespace(ckpt=checkpoint, batch=1, **TRAIN_DEFAULTS)
    model = generate_swap.Model()
    torch.save({"train_args": train_args, "g_ema": model.g_ema.state_dict(), "e_ema": model.e_ema.state_dict()},
               parent(checkpoint))
    report(report_path, [checkpoint], model="generate_swap.Model() with train_swap.py's defaults, random")


if __name__ == "__main__":
    main()
