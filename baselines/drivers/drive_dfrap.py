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

Loading: ``checkpoints/ComGAN/ComG_model.pt`` and SimSwap's ``arcface_checkpoint.tar`` are pickled
whole modules that only load with the upstream source on ``sys.path``; they are loaded here, inside
the upstream's own environment, never in the harness.  StarGAN's plain state dict loads with
``weights_only=True`` where torch supports it.

Options: ``epsilon`` (0.05), ``comgan`` (true), ``balance`` (1.0), ``c_trg`` (StarGAN mode).
"""

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
        import net.stargan as stargan  # upstream modules, from the checkout on sys.path
        from attack import adv_attack

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
            victim.to(device).eval()
            c_trg = torch.tensor(
                [drv.options["c_trg"]], dtype=torch.float32, device=device
            )
            kwargs.update(model=victim, c_trg=c_trg, faketype="StarGAN")
        else:
            from deepfakes import processorg_simswap, simswap_model
            from SimSwap.options.test_options import TestOptions

            victim = simswap_model(TestOptions().parse())
            kwargs.update(model=victim, img_att=processorg_simswap()[0], faketype="simswap")
        drv.info.update(
            {
                "torch": torch.__version__,
                "device": device,
                "mode": mode,
                **{k: v for k, v in kwargs.items() if k in ("epsilon", "comgan", "balance")},
            }
        )

        for item, image in drv.images():
            x = (
                torch.from_numpy(image.astype(np.float32) / 255.0).permute(2, 0, 1)[None].to(device) * 2.0
                - 1.0
            )
            x_adv = adv_attack(x, comg, comg_woj, **kwargs)
            out = ((x_adv.detach() + 1.0) / 2.0).clamp(0.0, 1.0)[0].permute(1, 2, 0).cpu().numpy()
            drv.write(item, out)


if __name__ == "__main__":
    main()
