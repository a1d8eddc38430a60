"""Driver for xc-csc101/UniFace @ 05f15e5: the upstream's ``generate_swap.Model`` on each pair.

``generate_swap.Model`` reads its hyper-parameters from a module-level ``args`` that the script's
``__main__`` block fills from the checkpoint's ``train_args``; the driver fills it the same way, then
runs the model in half precision on the GPU as the script does.  Pairs go through in batches (the model has
no coupling between the samples of a batch in eval); a batch that raises is retried one pair at a time, each
in its own guard, so one bad pair is reported ``failed`` alone.  Python 3.6 syntax.
"""

import argparse
import os

import numpy as np
from driver_protocol import Driver, seed_torch

with Driver() as drv:
    checkpoint = str(drv.options["checkpoint"])
    drv.require_weights([checkpoint], hint="the 'swap' model of the UniFace README")
    # the upstream unpickles whole objects with a bare torch.load (a module, an argparse.Namespace), which
    # torch >= 2.6 refuses by default; the pinned torch never checks.  These are the published files it loads.
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    import torch
    from PIL import Image
    from torchvision import transforms

    if not torch.cuda.is_available():
        raise RuntimeError("UniFace runs in half precision with custom CUDA ops: this driver needs a CUDA GPU")
    seed_torch(torch, drv.seed)
    import generate_swap

    ckpt = torch.load(checkpoint, map_location="cpu")
    args = argparse.Namespace(ckpt=checkpoint, batch=1)
    for key, value in vars(ckpt["train_args"]).items():
        if not hasattr(args, key):
            setattr(args, key, value)
    generate_swap.args = args  # Model() reads the module-level args, as in the upstream script
    model = generate_swap.Model().half().to("cuda")
    model.g_ema.load_state_dict(ckpt["g_ema"])
    model.e_ema.load_state_dict(ckpt["e_ema"])
    model.eval()
    transform = transforms.Compose([
        transforms.Resize((256, 256)),
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ])
    drv.info.update({"torch": torch.__version__, "size": getattr(args, "size", None)})

    def swap(chunk):
        """One batch of pairs (``[(item, source, target), ...]``) through the model; writes each result."""
        src = torch.stack([transform(Image.fromarray(s)) for _, s, _ in chunk]).half().cuda()
        trg = torch.stack([transform(Image.fromarray(t)) for _, _, t in chunk]).half().cuda()
        _, _, fake = model([trg, src])
        images = ((fake.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
        for (item, _, _), image in zip(chunk, images):
            drv.write(item, np.asarray(image))

    with torch.no_grad():  # a batch that raises (or writes a non-finite image) is retried pair by pair
        drv.in_batches(list(drv.pairs()), int(drv.options["batch_size"]), swap)
