"""Driver for neuralchen/SimSwap @ bd7b768: one swap per (source, target) pair with the upstream's own code.

Runs inside the checkout with the SimSwap environment's python (protocol: driver_protocol.py).  Mirrors
the steps of the upstream's test_wholeimage_swapsingle.py, calling its modules: TestOptions, create_model,
Face_detect_crop and reverse2wholeimage.  Like the upstream script, ``crop_size`` 512 switches three things
together (``test_wholeimage_swapsingle.py:44-49``): the generator ``--name 512 --which_epoch 550000``
(``checkpoints/512/550000_net_G.pth``, the 512 architecture) and the detector's ``ffhq`` alignment; 224 is
``people``/``latest`` with alignment mode ``None``.  Each pair runs in its own guard: one that raises (a
degenerate paste-back affine, CUDA out of memory) is reported ``failed`` and the others go on.  The
scratch folder of the paste-back files is removed at the end.  Python 3.6 syntax.
"""

import os
import shutil
import sys
import tempfile

import numpy as np
from driver_protocol import Driver, seed_torch

#: crop size -> (generator name, its epoch, the detector's alignment mode), as the upstream script sets them
MODES = {224: ("people", "latest", "None"), 512: ("512", "550000", "ffhq")}
WEIGHTS = [
    "arcface_model/arcface_checkpoint.tar",
    "insightface_func/models/antelope/scrfd_10g_bnkps.onnx",
]

with Driver() as drv:
    crop_size = int(drv.options["crop_size"])
    if crop_size not in MODES:
        raise ValueError(f"crop_size must be 224 or 512 (the upstream's two generators), not {crop_size}")
    name, epoch, align_mode = MODES[crop_size]
    generator = f"checkpoints/{name}/{epoch}_net_G.pth"
    drv.require_weights([*WEIGHTS, generator],
                        hint="run `python -m benchmarks.setup simswap` for where each file comes from")
    # the upstream unpickles whole objects with a bare torch.load (a module, an argparse.Namespace), which
    # torch >= 2.6 refuses by default; the pinned torch never checks.  These are the published files it loads.
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    import cv2
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from torchvision import transforms

    if not torch.cuda.is_available():
        raise RuntimeError("SimSwap builds its generator on cuda:0: this driver needs a CUDA GPU")
    seed_torch(torch, drv.seed)
    # the upstream parses its options from the command line
    sys.argv = ["test_wholeimage_swapsingle.py", "--crop_size", str(crop_size), "--name", name, "--which_epoch", epoch,
                "--Arc_path", "arcface_model/arcface_checkpoint.tar", "--no_simswaplogo"]
    from insightface_func.face_detect_crop_single import Face_detect_crop
    from models.models import create_model
    from options.test_options import TestOptions
    from util.reverse2original import reverse2wholeimage

    opt = TestOptions().parse()
    torch.nn.Module.dump_patches = True
    model = create_model(opt)
    model.eval()
    app = Face_detect_crop(name="antelope", root="./insightface_func/models")
    app.prepare(ctx_id=0, det_thresh=float(drv.options["det_thresh"]), det_size=(640, 640), mode=align_mode)
    to_arcface = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    drv.info.update({"torch": torch.__version__, "crop_size": crop_size, "generator": generator, "align_mode": align_mode})
    scratch = tempfile.mkdtemp(prefix="simswap-")

    def swap(item, source, target):
        source_bgr = np.ascontiguousarray(source[:, :, ::-1])
        target_bgr = np.ascontiguousarray(target[:, :, ::-1])
        found = app.get(source_bgr, crop_size)
        if found is None:
            drv.no_face(item, "insightface found no face in the source")
            return
        targets = app.get(target_bgr, crop_size)
        if targets is None:
            drv.no_face(item, "insightface found no face in the target")
            return
        crop = Image.fromarray(cv2.cvtColor(found[0][0], cv2.COLOR_BGR2RGB))
        identity = to_arcface(crop)[None].cuda()
        latent = F.normalize(model.netArc(F.interpolate(identity, size=(112, 112))), p=2, dim=1)
        crops, mats = targets
        swapped, tensors = [], []
        for b_crop in crops:
            tensor = torch.from_numpy(cv2.cvtColor(b_crop, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float().div(255)[None].cuda()
            swapped.append(model(None, tensor, latent, None, True)[0])
            tensors.append(tensor)
        out_path = os.path.join(scratch, item["file"])
        reverse2wholeimage(tensors, swapped, mats, crop_size, target_bgr, None, out_path, True,
                           pasring_model=None, use_mask=False, norm=None)
        result = cv2.imread(out_path)
        if result is None:
            drv.fail(item, "the upstream paste-back wrote no image")
            return
        drv.write(item, cv2.cvtColor(result, cv2.COLOR_BGR2RGB))

    try:
        with torch.no_grad():
            for item, source, target in drv.pairs():
                with drv.guard(item):
                    swap(item, source, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
