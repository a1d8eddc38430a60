"""Driver for Anti-Forgery (IJCAI'22), run with the upstream environment's python.

Anti-Forgery optimises a perturbation of the a/b channels of Lab (Adam, lr 1e-4, clamp +-epsilon in its
Lab units) so that StarGAN's output on the protected image moves away from its output on the clean
one.  This driver builds the upstream StarGAN ``Generator`` from the checkout's ``model.py``, loads the
CelebA 256x256 checkpoint, and calls the upstream function ``utils.lab_attack`` with the target labels
from ``utils.create_labels``, exactly as the upstream ``main.py`` does.  Like ``main.py`` it never puts
the generator in eval mode: its InstanceNorm layers track running statistics, and in eval mode they
would normalise with those instead of each image's own, a different network from the one the upstream
attacks.  For the same reason the checkpoint's running statistics are not required (upstream loads it
with ``strict=False``); a checkpoint that lacks any *parameter* is refused.

The upstream needs each face's five CelebA attributes (Black_Hair, Blond_Hair, Brown_Hair, Male,
Young) to build the target labels; our faces carry no attribute labels, so they are read from
StarGAN's own discriminator (its auxiliary attribute classifier, ``out_cls > 0``) and returned in
``info.predicted_attributes``.

Undefined gradients: the upstream's Lab-to-RGB conversion (``color_space.xyz2rgb``) raises linear RGB
to the power 1/2.4 after clamping it at 0, so at a pixel whose linear RGB is exactly 0 (exact black, as
in the padding of a crop whose frame runs past the photo's edge) its gradient is 0 * inf = NaN.  Adam
turns that NaN into a NaN perturbation, and from the next step on StarGAN's InstanceNorm spreads it to
every pixel: the whole image comes back NaN.  With ``nan_gradients: zero`` (the default) such gradient
entries are set to 0 where they enter the conversion (those pixels are not moved by that step; the
forward computation is unchanged), and ``info.items[id].undefined_gradients`` counts them.
``nan_gradients: upstream`` keeps the published behaviour (the image then fails the bound check below).

What the method promises is checked here, where the upstream's ``color_space`` is importable: the
realised change of each image's a/b channels in the upstream's normalised Lab units (Lab / 110), before
the uint8 rounding, must be finite and at most ``epsilon`` (+ ``AB_SLACK`` for the float round trip and
the clamp to the RGB cube); an image that breaks it fails with the numbers.  The change is reported per
image in ``info.items``.

``lab_attack`` returns the protected image in StarGAN's [-1, 1] range (and a "perturbation" that mixes
[-1, 1] and [0, 1]); only the image is used, mapped back to [0, 1].  The upstream code calls ``.cuda()``
unconditionally; on a machine without CUDA (``device: cpu``) those calls are made no-ops so that the
same code runs on the CPU, and ``info.cuda_shim`` records it.

Each batch runs inside ``drv.in_batches``: a batch that raises or leaves an image failed is retried image
by image (``lab_attack``'s loss is a mean over the batch, so one image's NaN would reach all of them).

Options: ``iterations`` (100), ``epsilon`` (0.05), ``model_dir`` (``stargan_celeba_256/models``),
``resume_iters`` (200000), ``batch_size`` (1, as upstream), ``nan_gradients`` (``zero``).
"""

import numpy as np
from driver_protocol import Driver, load_state_dict, seed_torch, torch_device

SELECTED_ATTRS = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
#: float slack of the a/b bound (normalised Lab units; one uint8 step near black is ~0.004)
AB_SLACK = 1e-3


def _cpu_shim(torch):
    """Map the upstream's unconditional ``.cuda()`` calls to no-ops on a CPU-only machine."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self


def _zero_undefined_gradients(torch, utils, counts):
    """Make ``utils.lab2rgb`` pass back 0 where its gradient is NaN or infinite (see the module docstring);
    ``counts`` collects how many entries each backward pass zeroed."""

    class FiniteGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view_as(x)

        @staticmethod
        def backward(ctx, grad):
            bad = ~torch.isfinite(grad)
            number = int(bad.sum())
            if number:
                counts.append(number)
                grad = torch.where(bad, torch.zeros_like(grad), grad)
            return grad

    lab2rgb = utils.lab2rgb

    def finite_lab2rgb(lab_rs, opt=None):
        return lab2rgb(FiniteGradient.apply(lab_rs), opt)

    utils.lab2rgb = finite_lab2rgb  # lab_attack looks the name up in utils' namespace at call time


def _load_generator(torch, generator, path):
    """Load the StarGAN generator as upstream does (``preprocessing`` keys dropped, ``strict=False``); refuse a
    checkpoint that lacks a parameter, accept one that lacks running statistics (never read in train mode)."""
    state = {k: v for k, v in load_state_dict(torch, path).items() if "preprocessing" not in k}
    missing, unexpected = generator.load_state_dict(state, strict=False)
    parameters = {name for name, _ in generator.named_parameters()}
    lacking = [key for key in missing if key in parameters]
    if lacking:
        raise RuntimeError(
            f"StarGAN checkpoint {path} lacks {len(lacking)} generator parameters, e.g. {lacking[:3]}"
        )
    return [key for key in missing if key not in parameters], list(unexpected)


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
        nan_gradients = drv.options["nan_gradients"]
        if nan_gradients not in ("zero", "upstream"):
            raise ValueError(f"nan_gradients must be 'zero' or 'upstream', not {nan_gradients!r}")
        import torch

        seed_torch(torch, drv.seed)
        device = torch_device(torch, drv.request.get("device"))
        if device == "cpu":
            _cpu_shim(torch)
            drv.info["cuda_shim"] = True
        import utils  # upstream modules
        from color_space import rgb2lab
        from model import Discriminator, Generator

        undefined = []
        if nan_gradients == "zero":
            _zero_undefined_gradients(torch, utils, undefined)

        generator = Generator(64, 5, 6)
        missing_buffers, unexpected = _load_generator(torch, generator, g_path)
        generator.to(device)  # train mode, as upstream (main.py never calls eval)
        discriminator = Discriminator(256, 64, 5, 6)
        discriminator.load_state_dict(load_state_dict(torch, d_path))
        discriminator.to(device).eval()  # convolutions and LeakyReLU only: eval changes nothing
        iterations = int(drv.options["iterations"])
        epsilon = float(drv.options["epsilon"])
        drv.info.update(
            {
                "torch": torch.__version__,
                "device": device,
                "checkpoint": g_path,
                "ignored_keys": unexpected,
                "missing_buffers": missing_buffers,
                "generator_mode": "train" if generator.training else "eval",
                "attribute_source": "stargan-discriminator",
                "iterations": iterations,
                "epsilon": epsilon,
                "nan_gradients": nan_gradients,
            }
        )
        predicted, per_item = {}, {}

        def protect(chunk):
            array = np.stack([image for _, image in chunk]).astype(np.float32) / 255.0
            x = torch.from_numpy(array).permute(0, 3, 1, 2).to(device) * 2.0 - 1.0
            with torch.no_grad():
                _, logits = discriminator(x)
            c_org = (logits > 0).float()
            for (item, _), row in zip(chunk, c_org.cpu().tolist()):
                predicted[item["id"]] = row
            c_trg_list = utils.create_labels(c_org, 5, "CelebA", SELECTED_ATTRS)
            del undefined[:]
            x_adv, _ = utils.lab_attack(x, c_trg_list, generator, epsilon=epsilon, iter=iterations)
            out = ((x_adv.detach() + 1.0) / 2.0).clamp(0.0, 1.0)
            with torch.no_grad():
                ab_change = (rgb2lab(out) - rgb2lab((x + 1.0) / 2.0))[:, 1:].abs().flatten(1)
            for index, (item, _) in enumerate(chunk):
                change = ab_change[index]
                finite = bool(torch.isfinite(change).all())
                worst = float(change.max()) if finite else float("nan")
                rgb = float(((out[index] - (x[index] + 1.0) / 2.0).abs().max()) * 255.0) if finite else None
                per_item[item["id"]] = {"ab_change": worst, "rgb_change_255": rgb,
                                        "undefined_gradients": int(sum(undefined))}
                with drv.guard(item):
                    if not finite:
                        bad = int((~torch.isfinite(change)).sum())
                        drv.fail(item, f"a/b change not finite at {bad} of {change.numel()} values "
                                 f"(the Lab attack diverged; nan_gradients={nan_gradients})")
                    elif worst > epsilon + AB_SLACK:
                        drv.fail(item, f"a/b change {worst:.5f} exceeds epsilon {epsilon} "
                                 "(normalised Lab units) the method promises")
                    else:
                        drv.write(item, out[index].permute(1, 2, 0).cpu().numpy())

        drv.in_batches(list(drv.images()), drv.options["batch_size"], protect)
        drv.info.update({"predicted_attributes": predicted, "items": per_item})


if __name__ == "__main__":
    main()
