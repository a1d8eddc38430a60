"""Driver for DF-RAP (TIFS'24), run with the upstream environment's python.

DF-RAP is PGD (10 steps of 0.01, epsilon 0.05 in [-1, 1] units, random start) through ComGAN, a learned
differentiable model of social-network compression, and through the victim model.  This driver calls
the upstream function ``attack.adv_attack`` as the upstream demo notebook does, with both ComGAN
generators (``ComG`` and ``ComG_woj``; the README's call omits the second, which the function needs).

Modes (request ``mode``):
  * ``simswap`` (default): the victim is the upstream's copy of SimSwap and the perturbed image is the
    *source* (identity) face, the setting closest to NullSwap.  The swap target is the upstream's own
    ``data/simswap_target/target.png`` (``deepfakes.processorg_simswap``).  Upstream SimSwap code
    hard-codes ``cuda:0``, so this mode needs a CUDA device.  The upstream feeds SimSwap's ArcFace the
    [-1, 1] image without SimSwap's ImageNet normalisation; that is part of the method as published
    and is kept.
  * ``stargan``: the victim is StarGAN (CelebA 256), target label ``c_trg`` (default [1, 0, 0, 1, 1],
    the demo's).

The victim is used as the upstream builds it: ``deepfakes.stargan_model`` never puts StarGAN in eval
mode (its InstanceNorm layers track running statistics, and eval mode would normalise with those instead
of each image's own), so neither does this driver; ComGAN and SimSwap are in eval mode as the demo and
``deepfakes.simswap_model`` put them.

PGD steps: ``attack.adv_attack`` builds ``LinfPGDAttack`` with its default ``k=10`` steps; the ``steps``
option (10) is handed to it as ``k`` (a rehearsal runs one or two).

Device: the upstream's modules pick their device at import (``'cuda' if available``, and SimSwap's
``cuda:0``); the harness shows this process only the GPU the request names (none for ``cpu``), so
those globals land on the requested device; the driver checks that they agree with it and records them
in ``info.upstream_devices``.

Each image runs inside ``drv.guard``: one that raises fails alone.  The method's promise (|change| <=
epsilon in [-1, 1] units) is checked by the adapter on what comes back (``DFRAP.frame_bound``).

Loading: ``checkpoints/ComGAN/ComG_model.pt`` and SimSwap's ``arcface_checkpoint.tar`` are pickled
whole modules that only load with the upstream source on ``sys.path``; they are loaded here, inside
the upstream's own environment, never in the harness.  StarGAN's plain state dict loads with
``weights_only=True`` where torch supports it.

Options: ``epsilon`` (0.05), ``comgan`` (true), ``balance`` (1.0), ``c_trg`` (StarGAN mode), ``steps`` (10).
"""

import functools
import sys

import numpy as np
from driver_protocol import Driver, load_state_dict, seed_torch, torch_device

COMGAN = "checkpoints/ComGAN/ComG_model.pt"
STARGAN = "checkpoints/stargan_celeba_256/models/200000-G.ckpt"
SIMSWAP = ["SimSwap/arcface_model/arcface_checkpoint.tar", "SimSwap/checkpoints/people/latest_net_G.pth"]


def _load_pickled_modules(torch, path, device):
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except TypeError:  # torch < 1.13
        return torch.load(path, map_location=device)


def main():
    with Driver() as drv:
        mode = drv.mode or "simswap"
        if mode not in ("simswap", "stargan"):
            raise ValueError(f"unknown DF-RAP mode {mode!r} (simswap or stargan)")
        comgan = bool(drv.options["comgan"])
        needed = ([COMGAN] if comgan else []) + (SIMSWAP if mode == "simswap" else [STARGAN])
        drv.require_weights(
            needed,
            hint="ComGAN and PertG: Google Drive file linked from the upstream README; "
            "SimSwap (old) and ArcFace: Google Drive folder linked there; StarGAN: Dropbox zip",
        )
        import torch

        seed_torch(torch, drv.seed)
        device = torch_device(torch, drv.request.get("device"))
        if mode == "simswap" and device == "cpu":
            raise RuntimeError(
                "DF-RAP's SimSwap mode needs a CUDA device: the upstream SimSwap code "
                "hard-codes cuda:0 (run on a GPU machine, or use mode 'stargan')"
            )
        import attack  # upstream modules, from the checkout on sys.path
        import net.stargan as stargan

        steps = int(drv.options["steps"])
        attack.LinfPGDAttack = functools.partial(attack.LinfPGDAttack, k=steps)

        comg = comg_woj = None
        if comgan:
            bundle = _load_pickled_modules(torch, COMGAN, device)
            comg = bundle["ComG"].to(device).eval()
            comg_woj = bundle["ComG_woj"].to(device).eval()
        kwargs = {
            "epsilon": float(drv.options["epsilon"]),
            "comgan": comgan,
            "balance": float(drv.options["balance"]),
            "device": device,
        }
        if mode == "stargan":
            victim = stargan.Generator(conv_dim=64, c_dim=5, repeat_num=6)
            victim.load_state_dict(load_state_dict(torch, STARGAN))
            victim.to(device)  # train mode, as deepfakes.stargan_model leaves it
            c_trg = torch.tensor(
                [drv.options["c_trg"]], dtype=torch.float32, device=device
            )
            kwargs.update(model=victim, c_trg=c_trg, faketype="StarGAN")
        else:
            import os

            from deepfakes import processorg_simswap, simswap_model
            from SimSwap.options.test_options import TestOptions

            # SimSwap's fs_model unpickles the whole ArcFace module with a bare torch.load; torch >= 2.6
            # would refuse it (weights_only became the default), torch 1.x ignores this variable
            os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

            victim = simswap_model(TestOptions().parse())
            kwargs.update(model=victim, img_att=processorg_simswap()[0], faketype="simswap")
        upstream_devices = _upstream_devices()
        wrong = {name: found for name, found in upstream_devices.items()
                 if found.split(":")[0] != torch.device(device).type}
        if wrong:
            raise RuntimeError(
                f"the upstream's module-level devices {wrong} disagree with the requested device {device!r}: "
                "run through the harness, which shows this process only the requested GPU"
            )
        drv.info.update(
            {
                "torch": torch.__version__,
                "device": device,
                "mode": mode,
                "steps": steps,
                "victim_mode": "train" if victim.training else "eval",
                "upstream_devices": upstream_devices,
                **{k: v for k, v in kwargs.items() if k in ("epsilon", "comgan", "balance")},
            }
        )

        for item, image in drv.images():
            with drv.guard(item):
                x = (
                    torch.from_numpy(image.astype(np.float32) / 255.0).permute(2, 0, 1)[None].to(device)
                    * 2.0
                    - 1.0
                )
                x_adv = attack.adv_attack(x, comg, comg_woj, **kwargs)
                out = ((x_adv.detach() + 1.0) / 2.0).clamp(0.0, 1.0)[0].permute(1, 2, 0).cpu().numpy()
                drv.write(item, out)


def _upstream_devices():
    """The device globals of the upstream modules imported so far (``'cuda' if available`` at import)."""
    names = ("attack", "deepfakes", "utils.utils", "net.ComGAN", "SimSwap.models.config", "models.config")
    found = {}
    for name in names:
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "device"):
            found[name] = str(module.device)
    return found


if __name__ == "__main__":
    main()
