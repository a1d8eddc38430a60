"""Driver for Anti-Forgery (IJCAI'22), run with the upstream environment's python.

Anti-Forgery optimises a perturbation of the a/b channels of Lab (Adam, lr 1e-4, clamp +-epsilon in its
Lab units) so that StarGAN's output on the protected image moves away from its output on the clean
one.  This driver builds the upstream StarGAN ``Generator`` from the checkout's ``model.py``, loads the
CelebA 256x256 checkpoint, and calls the upstream function ``utils.lab_attack`` with the target labels
from ``utils.create_labels``, exactly as the upstream ``main.py`` does.

The upstream needs each face's five CelebA attributes (Black_Hair, Blond_Hair, Brown_Hair, Male,
Young) to build the target labels; our faces carry no attribute labels, so they are read from
StarGAN's own discriminator (its auxiliary attribute classifier, ``out_cls > 0``) and returned in
``info.predicted_attributes``.

``lab_attack`` returns the protected image in StarGAN's [-1, 1] range (and a "perturbation" that mixes
[-1, 1] and [0, 1]); only the image is used, mapped back to [0, 1].  The upstream code calls ``.cuda()``
unconditionally; on a machine without CUDA (``device: cpu``) those calls are made no-ops so that the
same code runs on the CPU, and ``info.cuda_shim`` records it.

Options: ``iterations`` (100), ``epsilon`` (0.05), ``model_dir`` (``stargan_celeba_256/models``),
``resume_iters`` (200000), ``batch_size`` (1, as upstream).
"""

import numpy as np
from driver_protocol import Driver, batches, load_state_dict, seed_torch, torch_device

SELECTED_ATTRS = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]


def _cpu_shim(torch):
    """Map the upstream's unconditional ``.cuda()`` calls to no-ops on a CPU-only machine."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self


def main():
    with Driver() as drv:
        model_dir = drv.options["model_dir"]
        iters = int(drv.options["resume_iters"])
        g_path = f"{model_dir}/{iters}-G.ckpt"
        d_path = f"{model_dir}/{iters}-D.ckpt"
        drv.require_weights(
            [g_path, d_path],
            hint="StarGAN CelebA 256x256: `bash download.sh pretrained-celeba-256x256` in the checkout",
        )
        import torch

        seed_torch(torch, drv.seed)
        device = torch_device(torch, drv.request.get("device"))
        if device == "cpu":
            _cpu_shim(torch)
            drv.info["cuda_shim"] = True
        from model import Discriminator, Generator  # upstream modules
        from utils import create_labels, lab_attack

        generator = Generator(64, 5, 6)
        state = {k: v for k, v in load_state_dict(torch, g_path).items() if "preprocessing" not in k}
        missing, unexpected = generator.load_state_dict(state, strict=False)
        if missing:
            raise RuntimeError(
                f"StarGAN checkpoint {g_path} lacks {len(missing)} generator tensors, e.g. {missing[:3]}"
            )
        generator.to(device).eval()
        discriminator = Discriminator(256, 64, 5, 6)
        discriminator.load_state_dict(load_state_dict(torch, d_path))
        discriminator.to(device).eval()
        drv.info.update(
            {
                "torch": torch.__version__,
                "device": device,
                "checkpoint": g_path,
                "ignored_keys": list(unexpected),
                "attribute_source": "stargan-discriminator",
            }
        )
        iterations = int(drv.options["iterations"])
        epsilon = float(drv.options["epsilon"])
        predicted = {}

        pairs = list(drv.images())
        for chunk in batches(pairs, drv.options["batch_size"]):
            array = np.stack([image for _, image in chunk]).astype(np.float32) / 255.0
            x = torch.from_numpy(array).permute(0, 3, 1, 2).to(device) * 2.0 - 1.0
            with torch.no_grad():
                _, logits = discriminator(x)
            c_org = (logits > 0).float()
            for (item, _), row in zip(chunk, c_org.cpu().tolist()):
                predicted[item["id"]] = row
            c_trg_list = create_labels(c_org, 5, "CelebA", SELECTED_ATTRS)
            x_adv, _ = lab_attack(x, c_trg_list, generator, epsilon=epsilon, iter=iterations)
            out = ((x_adv.detach() + 1.0) / 2.0).clamp(0.0, 1.0).permute(0, 2, 3, 1).cpu().numpy()
            for (item, _), protected in zip(chunk, out):
                drv.write(item, protected)
        drv.info.update({"iterations": iterations, "epsilon": epsilon, "predicted_attributes": predicted})


if __name__ == "__main__":
    main()
