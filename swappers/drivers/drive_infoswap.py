"""Driver for GGGHSL/InfoSwap-master @ 0484ef5: the upstream's own ``inference`` on each pair.

``inference_demo.py`` builds its models in its ``__main__`` block and keeps them as module globals;
the driver imports the module and builds the same models with the upstream's classes, then calls
``inference_demo.inference(source, target_folder, save_dir)`` once per pair.  Python 3.6 syntax.

What the driver adds around the upstream, each for a reason found by running it:

* ``<checkout>/preprocess`` on ``sys.path``: ``preprocess/mtcnn_pytorch/src/align_trans.py`` imports
  ``mtcnn_pytorch.src...`` as a top-level package (the upstream's ``utils.py`` appends its author's own
  ``.../preprocess`` folder instead).
* The target is checked first with the upstream's own first detection call (``inference_demo.py:101``).
  Without a face there, the upstream lowers its thresholds and minimum face size in a loop until an
  allocation fails (gigabytes), then writes the *unswapped* target where the result belongs
  (``:119-148``); the driver reports ``no_face`` instead, and a result written without the upstream's
  generated crop (``<prefix>_gen_Y.png``, ``:217-220``) is never taken for a swap.
* The target goes in a folder of its own, so the upstream's ``prefix = name.split('.')[0]`` (``:88``) sees a
  relative name: an absolute path with a dot (``TMPDIR=/scratch/job.123``) would move the result elsewhere.
* The upstream's ``plt.imsave`` gets ``format="png"`` and its folder: its path ends in ``_gen./png``
  (``:90``), which matplotlib >= 3.3 refuses ("unknown file extension") and no one creates.
* ``cv2.seamlessClone`` gets integer centre coordinates: the upstream passes one-element float arrays
  (``:235,244``), which OpenCV of its time truncated and current OpenCV refuses — the upstream's own
  ``except`` would then silently fall back to Laplacian blending.  Only the upstream module sees the shim.
* The ``logging.FileHandler`` each ``inference`` call adds (``:49-55``) is closed after the call, and the
  scratch folder is removed at the end.
"""

import contextlib
import glob
import logging
import os
import resource
import shutil
import sys
import tempfile
import types

import numpy as np
from driver_protocol import Driver, seed_torch, torch_device
from PIL import Image

ROOTS = {
    "smooth": ("./checkpoints_512/w_kernel_smooth", "ckpt_ks_{}.pth"),
    "no_smooth": ("./checkpoints_512/wo_kernel_smooth", "ckpt_{}.pth"),
}
#: the upstream's first detection calls, with its own arguments (inference_demo.py:77 and :101)
SOURCE_DETECTION = dict(min_face_size=64., thresholds=[0.6, 0.7, 0.8], factor=0.707, crop_size=(512, 512))
TARGET_DETECTION = dict(min_face_size=64., thresholds=[0.6, 0.7, 0.7], crop_size=(512, 512), reverse=True)


def _integer(value):
    """A coordinate as the OpenCV of the upstream's time read it: ``int()`` of a one-element array."""
    return int(np.asarray(value).reshape(-1)[0])


def opencv_for_upstream(cv2):
    """``cv2`` for the upstream module only, with ``seamlessClone`` taking the upstream's float centre."""
    shim = types.ModuleType("cv2")
    shim.__dict__.update(cv2.__dict__)

    def seamlessClone(src, dst, mask, p, flags, *args, **kwargs):
        return cv2.seamlessClone(src, dst, mask, (_integer(p[0]), _integer(p[1])), flags, *args, **kwargs)

    shim.seamlessClone = seamlessClone
    return shim


def pyplot_for_upstream(plt):
    """``plt`` for the upstream module only: ``imsave`` creates the folder and writes PNG whatever the name."""

    def imsave(path, *args, **kwargs):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        kwargs.setdefault("format", "png")
        return plt.imsave(path, *args, **kwargs)

    return types.SimpleNamespace(imsave=imsave, close=plt.close, imshow=plt.imshow, show=plt.show)


@contextlib.contextmanager
def closing_new_handlers(logger):
    """Close the handlers ``logger`` gains inside the block (the upstream adds one file per call)."""
    before = list(logger.handlers)
    try:
        yield
    finally:
        for handler in [h for h in logger.handlers if h not in before]:
            logger.removeHandler(handler)
            handler.close()


with Driver() as drv:
    mode = str(drv.options["ib_mode"])
    if mode not in ROOTS:
        raise ValueError(f"ib_mode must be one of {sorted(ROOTS)}, not {mode!r}")
    root, pattern = ROOTS[mode]
    weights = ["modules/model_128_ir_se50.pth"] + [os.path.join(root, pattern.format(k)) for k in "GEI"]
    drv.require_weights([os.path.normpath(w) for w in weights],
                        hint="InfoSwap's weights are sent by its authors on request (upstream USAGE.md)")
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    device = torch.device(torch_device(torch, drv.request.get("device")))
    if device.type == "cpu" and torch.cuda.is_available():
        raise RuntimeError("device cpu was requested but a GPU is visible: the upstream's MTCNN would run on "
                           "cuda:0 regardless (preprocess/mtcnn.py:10); run through the harness, which hides GPUs")
    seed_torch(torch, drv.seed)
    sys.path.append(os.path.join(drv.checkout, "preprocess"))  # mtcnn_pytorch as a top-level package
    import inference_demo as demo
    from modules.aii_generator import AII512
    from modules.decoder512 import UnetDecoder512
    from modules.encoder128 import Backbone128
    from modules.iib import IIB

    # the models, as the upstream's __main__ block builds them
    encoder = Backbone128(50, 0.6, "ir_se").eval().to(device)
    encoder.load_state_dict(torch.load("modules/model_128_ir_se50.pth", map_location=device), strict=True)
    G = AII512().eval().to(device)
    decoder = UnetDecoder512().eval().to(device)
    N = 10
    _ = encoder(torch.rand(1, 3, 128, 128).to(device), cache_feats=True)
    readout = encoder.features[:(N + 1)]
    in_c = sum(map(lambda f: f.shape[-3], readout))
    iib = IIB(in_c, [readout[i].shape[-3] for i in range(N)], device, smooth=mode == "smooth", kernel_size=1).eval()
    G.load_state_dict(torch.load(os.path.join(root, pattern.format("G")), map_location=device), strict=True)
    decoder.load_state_dict(torch.load(os.path.join(root, pattern.format("E")), map_location=device), strict=True)
    iib.load_state_dict(torch.load(os.path.join(root, pattern.format("I")), map_location=device), strict=mode == "smooth")
    encoder.features = []
    demo.encoder, demo.G, demo.decoder, demo.iib, demo.N, demo.device = encoder, G, decoder, iib, N, device
    demo.plt = pyplot_for_upstream(plt)
    demo.cv2 = opencv_for_upstream(cv2)
    logger = logging.getLogger("inference")
    drv.info.update({"torch": torch.__version__, "ib_mode": mode, "device": str(device),
                     "mtcnn_device": str(getattr(sys.modules.get("preprocess.mtcnn"), "device", "?"))})

    scratch = tempfile.mkdtemp(prefix="infoswap-")
    try:
        for item, source, target in drv.pairs():
            with drv.guard(item):
                pair_dir = os.path.join(scratch, item["id"])
                target_dir = os.path.join(pair_dir, "target")  # the target alone: a relative name for the upstream
                os.makedirs(target_dir)
                # ordinary RGB files: the upstream reads them with cv2 (BGR order) and keeps that order throughout
                src_path = os.path.join(pair_dir, "source.png")
                Image.fromarray(source).save(src_path)
                Image.fromarray(target).save(os.path.join(target_dir, "target.png"))
                source_bgr = Image.fromarray(np.ascontiguousarray(source[:, :, ::-1]))  # what the upstream hands MTCNN
                if demo.mtcnn.align_multi(source_bgr, **SOURCE_DETECTION) is None:
                    drv.no_face(item, "the upstream's MTCNN found no face in the source")
                    continue
                target_bgr = Image.fromarray(np.ascontiguousarray(target[:, :, ::-1]))
                if demo.mtcnn.align_multi(target_bgr, **TARGET_DETECTION) is None:
                    drv.no_face(item, "the upstream's MTCNN found no face in the target (its first detection, "
                                      "min face 64 px, thresholds 0.6/0.7/0.7; its retry loop is not run)")
                    continue
                save_dir = os.path.join(pair_dir, "out")
                with closing_new_handlers(logger), torch.no_grad():
                    demo.inference(src_path, target_dir, save_dir)
                # the upstream writes <save_dir>/<date>/target_gen_Y.png, then the pasted <date>/target/_gen./png
                generated = glob.glob(os.path.join(save_dir, "*", "target_gen_Y.png"))
                found = [p for p in glob.glob(os.path.join(save_dir, "*", "target", "_gen.", "*")) if os.path.isfile(p)]
                if not found:
                    drv.fail(item, "the upstream wrote no pasted result (see driver.log)")
                elif not generated:
                    drv.fail(item, "the upstream wrote its unswapped target (its detection fallback), not a swap")
                else:
                    drv.write(item, np.asarray(Image.open(found[0]).convert("RGB")))
                shutil.rmtree(pair_dir, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        # what a run cost and left open: the peak memory of this process, the upstream's log files still open
        drv.info["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
        drv.info["inference_log_handlers"] = len(logger.handlers)
