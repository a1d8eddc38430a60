"""Driver for Initiative Defense (AAAI'21), run with the upstream environment's python.

Imports the perturbation generator class ``Attackmodel`` from the upstream checkout's ``model.py``,
loads its released state dict and applies ``x' = clamp(x + eps * PG(x), -1, 1)`` in one forward pass,
on images that the harness has already brought to the generator's 128 px frame.

Each batch runs inside ``drv.in_batches``: a batch that raises is retried image by image, so one bad
image fails alone.  The method's promise (|change| <= eps in [-1, 1] units) is checked by the adapter on
what comes back (``baselines.initiative.Initiative.frame_bound``).

Options (request ``options``): ``eps`` (0.05, in [-1, 1] units; the released checkpoint's name says it
was trained at 0.05 while the README's test command passes 0.03), ``checkpoint``
(``checkpoints/30000-PG-005.ckpt``, the path the upstream test code hard-codes), ``batch_size`` (16).
"""

import numpy as np
from driver_protocol import Driver, load_state_dict, seed_torch, torch_device


def main():
    with Driver() as drv:
        checkpoint = drv.options["checkpoint"]
        drv.require_weights(
            [checkpoint],
            hint="the perturbation generator is in the Google Drive folder "
            "linked from the upstream README (pretrained_model)",
        )
        import torch
        from model import Attackmodel  # upstream module, from the checkout on sys.path

        seed_torch(torch, drv.seed)
        device = torch_device(torch, drv.request.get("device"))
        eps = float(drv.options["eps"])
        generator = Attackmodel()
        state = load_state_dict(torch, checkpoint)
        state = {k[len("module.") :] if k.startswith("module.") else k: v for k, v in state.items()}
        generator.load_state_dict(state)
        generator.to(device).eval()  # as upstream: solver.py calls self.PG.eval() (the generator has BatchNorm)
        drv.info.update({"torch": torch.__version__, "device": device, "eps": eps, "checkpoint": checkpoint})

        def protect(chunk):
            array = np.stack([image for _, image in chunk]).astype(np.float32) / 255.0
            x = torch.from_numpy(array).permute(0, 3, 1, 2).to(device) * 2.0 - 1.0
            with torch.no_grad():
                x_adv = torch.clamp(x + eps * generator(x), -1.0, 1.0)
            out = ((x_adv + 1.0) / 2.0).clamp(0.0, 1.0).permute(0, 2, 3, 1).cpu().numpy()
            for (item, _), protected in zip(chunk, out):
                with drv.guard(item):
                    drv.write(item, protected)

        drv.in_batches(list(drv.images()), drv.options["batch_size"], protect)


if __name__ == "__main__":
    main()
