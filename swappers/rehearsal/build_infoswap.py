"""Rehearsal builder for GGGHSL/InfoSwap-master @ 0484ef5: its own networks with random weights.

Run with the upstream environment's python inside a *copy* of the checkout (the checkout on
``sys.path``, like a driver).  Builds the upstream's classes exactly as ``inference_demo.py``'s
``__main__`` block does — ``Backbone128(50, 0.6, 'ir_se')``, ``AII512()``, ``UnetDecoder512()``,
``IIB(in_c, out_c_list, device, smooth=..., kernel_size=1)`` — with their random initial weights, and saves
their state dicts where the upstream loads them (``strict=True`` loads of the same classes), for the
``ib_mode`` given (``smooth``, the adapter's default, unless ``--ib-mode no_smooth`` or ``both``).

The readout statistics ``modules/weights128/readout_layer{0..10}.pth`` are committed upstream; a tree that
lacks some of them (layers 0-3 are absent from some copies) gets them generated in the format of the others:
a dict of ``m`` and ``s`` (float32 [C, H, W]: mean and sum of squared deviations), ``n_samples`` (int64 [1])
and ``neuron_nonzero`` (int64 [C, H, W]), measured on the random encoder's features of a few random images.
Existing statistics are never touched.

Run as ``python build_infoswap.py --report REPORT --options JSON`` (``nullswap.upstream.rehearsal``'s
builder protocol; the options are the adapter's driver options, of which ``ib_mode`` is read); writes
``REPORT``: ``{"weights": [every file it wrote, relative to the checkout], "facts": {...}}``, so that each
is marked as a stand-in.  Python 3.6 syntax; imports only the standard library, torch and the upstream's
own modules.
"""

import argparse
import json
import os
import sys

import torch

ROOTS = {
    "smooth": ("checkpoints_512/w_kernel_smooth", "ckpt_ks_{}.pth"),
    "no_smooth": ("checkpoints_512/wo_kernel_smooth", "ckpt_{}.pth"),
}
N = 10  # the number of bottleneck layers, as in inference_demo.py


def save(obj, path, written):
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    torch.save(obj, path)
    written.append(path)


def readout_statistics(encoder, samples=4):
    """Per-layer statistics in the upstream's format, from the encoder's features on ``samples`` random images."""
    with torch.no_grad():
        encoder(torch.rand(samples, 3, 128, 128), cache_feats=True)
        feats = [f.detach() for f in encoder.features[:N + 1]]
    encoder.features = []
    stats = []
    for f in feats:
        mean = f.mean(0)
        stats.append({
            "m": mean.float().contiguous(),
            "s": ((f - mean) ** 2).sum(0).float().contiguous(),
            "n_samples": torch.tensor([samples], dtype=torch.int64),
            "neuron_nonzero": (f != 0).sum(0).to(torch.int64),
        })
    return stats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", required=True, help="where to write the JSON report")
    parser.add_argument("--options", default="{}", help="the adapter's driver options (JSON)")
    parser.add_argument("--mode", default=None, help="unused: InfoSwap's driver has no modes")
    parser.add_argument("--ib-mode", choices=[*sorted(ROOTS), "both"], default=None,
                        help="default: the options' ib_mode, else smooth")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ib_mode = args.ib_mode or json.loads(args.options).get("ib_mode") or "smooth"
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    sys.path.append(os.path.join(os.getcwd(), "preprocess"))  # as the driver does: mtcnn_pytorch is imported top-level
    torch.manual_seed(args.seed)
    from modules.aii_generator import AII512
    from modules.decoder512 import UnetDecoder512
    from modules.encoder128 import Backbone128
    from modules.iib import IIB

    written = []
    device = torch.device("cpu")
    encoder = Backbone128(50, 0.6, "ir_se").eval()
    save(encoder.state_dict(), "modules/model_128_ir_se50.pth", written)
    generated = []
    for layer, stats in enumerate(readout_statistics(encoder)):
        path = f"modules/weights128/readout_layer{layer}.pth"
        if not os.path.isfile(path):
            save(stats, path, written)
            generated.append(layer)
    encoder(torch.rand(1, 3, 128, 128), cache_feats=True)
    readout = encoder.features[:N + 1]
    in_c = sum(f.shape[-3] for f in readout)
    out_c_list = [readout[i].shape[-3] for i in range(N)]
    encoder.features = []
    modes = sorted(ROOTS) if ib_mode == "both" else [ib_mode]
    for mode in modes:
        root, pattern = ROOTS[mode]
        save(AII512().state_dict(), os.path.join(root, pattern.format("G")), written)
        save(UnetDecoder512().state_dict(), os.path.join(root, pattern.format("E")), written)
        iib = IIB(in_c, out_c_list, device, smooth=mode == "smooth", kernel_size=1)
        save(iib.state_dict(), os.path.join(root, pattern.format("I")), written)
    facts = {
        "networks": "Backbone128(50, 0.6, 'ir_se'), AII512(), UnetDecoder512(), IIB(...): random initial weights",
        "ib_mode": ib_mode,
        "seed": args.seed,
        "readout_statistics_generated": ",".join(str(i) for i in generated) or "none",
    }
    with open(args.report, "w") as handle:
        json.dump({"weights": written, "facts": facts}, handle)


if __name__ == "__main__":
    main()
